// What the console's tabs share: their queries, a view that waits for its
// data, an action's busy state and refusal, and the table whose actions that
// take something away ask first, under their row.

import { queryOptions, type UseQueryResult } from "@tanstack/react-query";
import { Fragment, useState, type ReactNode } from "react";
import { api } from "../api";
import { sentence } from "../market/errors";
import { codeOf, useCommand } from "../useCommand";

// Fetched each time the console opens: no event says when another admin changes them.
const fresh = { staleTime: 0, gcTime: 0 } as const;

export const consoleViews = {
  members: queryOptions({ queryKey: ["console", "members"], queryFn: api.communityMembers, ...fresh }),
  invitations: queryOptions({ queryKey: ["console", "invitations"], queryFn: api.communityInvitations, ...fresh }),
  settings: queryOptions({ queryKey: ["console", "settings"], queryFn: api.communitySettings, ...fresh }),
};

/** The query's data once loaded; until then what is happening, or why it failed and a way to try again. */
export function Loaded<T>({ query, what, children }: { query: UseQueryResult<T>; what: string; children: (data: T) => ReactNode }) {
  if (query.data !== undefined) return children(query.data);
  if (query.isError) {
    return (
      <div className="banner banner-error" role="alert">
        <p>
          Couldn't load {what}. {sentence(codeOf(query.error))}
        </p>
        <button type="button" className="button" onClick={() => void query.refetch()}>
          Try again
        </button>
      </div>
    );
  }
  return <p className="loading">Loading {what}…</p>;
}

/** One action at a time: busy while it runs, then what it did or why it was refused. */
export function useAction() {
  const command = useCommand();
  const [done, setDone] = useState<string | null>(null);
  const run = <T,>(action: () => Promise<T>, then: (answer: T) => string) => {
    setDone(null);
    return command.run(action, (answer) => setDone(then(answer)));
  };
  const outcome = (
    <>
      {command.error && (
        <p className="error" role="alert">
          {command.error}
        </p>
      )}
      {done && (
        <p className="notice" role="status">
          {done}
        </p>
      )}
    </>
  );
  return { busy: command.busy, run, outcome };
}

type ConfirmProps = { question: string; yes: string; no: string; busy: boolean; onYes: () => void; onNo: () => void };

/** Asks before an action that takes something away; the safe answer has the focus. */
export function Confirm({ question, yes, no, busy, onYes, onNo }: ConfirmProps) {
  return (
    <div className="confirm" role="group" aria-label={question}>
      <p>{question}</p>
      <div className="confirm-actions">
        <button type="button" className="button" onClick={onNo} autoFocus>
          {no}
        </button>
        <button type="button" className="button button-danger" disabled={busy} onClick={onYes}>
          {yes}
        </button>
      </div>
    </div>
  );
}

type TableProps<T> = {
  /** The headings; a last column, of actions, follows. */
  columns: string[];
  items: T[];
  keyOf: (item: T) => string;
  /** The row's cells, its actions last. */
  row: (item: T) => ReactNode;
  /** The confirm step asked of this item, shown under its row; nothing when none is. */
  asking: (item: T) => ReactNode;
};

export function ActionTable<T>({ columns, items, keyOf, row, asking }: TableProps<T>) {
  return (
    <table>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => {
          const asked = asking(item);
          return (
            <Fragment key={keyOf(item)}>
              <tr>{row(item)}</tr>
              {asked && (
                <tr>
                  <td colSpan={columns.length + 1}>{asked}</td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}
