// The console's activity: each member's open orders, trades and energy bought
// and sold, sorted by any column.

import { useState } from "react";
import type { MemberView } from "../bindings/MemberView";
import { sortActivity, type ActivityColumn, type ActivitySort } from "../market/console";
import { kwh, since } from "../market/format";

const COLUMNS: [ActivityColumn, string][] = [
  ["display_name", "Member"],
  ["open_orders", "Open orders"],
  ["trades", "Trades"],
  ["bought", "Bought"],
  ["sold", "Sold"],
  ["last_trade_at", "Last trade"],
];

export function ConsoleActivity({ members }: { members: MemberView[] }) {
  const [sort, setSort] = useState<ActivitySort>({ column: "display_name", descending: false });
  // A figure's first click puts the most first; a name's, A first.
  const sortBy = (column: ActivityColumn) =>
    setSort((now) => (now.column === column ? { column, descending: !now.descending } : { column, descending: column !== "display_name" }));

  if (members.length === 0) return <p className="empty">No members yet.</p>;
  return (
    <table aria-label="Activity by member">
      <thead>
        <tr>
          {COLUMNS.map(([column, label]) => {
            const sorted = sort.column === column;
            return (
              <th key={column} scope="col" aria-sort={sorted ? (sort.descending ? "descending" : "ascending") : "none"}>
                <button type="button" className="sort-button" onClick={() => sortBy(column)}>
                  {label}
                  <span aria-hidden="true" className="sort-mark">
                    {sorted ? (sort.descending ? "▼" : "▲") : ""}
                  </span>
                </button>
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {sortActivity(members, sort).map((member) => (
          <tr key={member.membership_id}>
            <th scope="row">
              {member.display_name}
              {member.status !== "active" && <span className="muted"> ({member.status})</span>}
            </th>
            <td>{member.open_orders}</td>
            <td>{member.trades}</td>
            <td>{kwh(member.bought)}</td>
            <td>{kwh(member.sold)}</td>
            <td>{member.last_trade_at === null ? "—" : since(member.last_trade_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
