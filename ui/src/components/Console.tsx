// The operator console, for a community's active admins only: its members,
// invitations, settings and activity, as tabs of one large dialog.

import { useQuery } from "@tanstack/react-query";
import { useState, type KeyboardEvent, type ReactNode } from "react";
import type { ModeView } from "../bindings/ModeView";
import { isConsoleAdmin } from "../market/console";
import { communityName } from "../market/membership";
import { ConsoleActivity } from "./ConsoleActivity";
import { ConsoleInvitations } from "./ConsoleInvitations";
import { ConsoleMembers } from "./ConsoleMembers";
import { Loaded, consoleViews } from "./ConsoleParts";
import { ConsoleSettings } from "./ConsoleSettings";
import { Modal } from "./Modal";

/** The header's way in; nothing for anyone but an active admin. */
export function ConsoleButton({ mode }: { mode: ModeView }) {
  // Its own component, so that losing the admin role unmounts the console and forgets it was open.
  return isConsoleAdmin(mode) ? <ConsoleOpener mode={mode} /> : null;
}

function ConsoleOpener({ mode }: { mode: ModeView }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button console-button" onClick={() => setOpen(true)}>
        Community console
      </button>
      {open && <ConsoleModal mode={mode} onClose={() => setOpen(false)} />}
    </>
  );
}

type Tab = "members" | "invitations" | "settings" | "activity";

const TABS: [Tab, string][] = [
  ["members", "Members"],
  ["invitations", "Invitations"],
  ["settings", "Settings"],
  ["activity", "Activity"],
];

function ConsoleModal({ mode, onClose }: { mode: ModeView; onClose: () => void }) {
  const [tab, setTab] = useState<Tab>("members");
  // The members feed two tabs and the pending count on the first.
  const members = useQuery(consoleViews.members);
  const pending = members.data?.filter((member) => member.status === "pending").length ?? 0;

  const panels: Record<Tab, ReactNode> = {
    members: (
      <Loaded query={members} what="the members">
        {(list) => <ConsoleMembers members={list} you={mode.username} />}
      </Loaded>
    ),
    invitations: <ConsoleInvitations />,
    settings: <ConsoleSettings />,
    activity: (
      <Loaded query={members} what="the members' activity">
        {(list) => <ConsoleActivity members={list} />}
      </Loaded>
    ),
  };

  const onTabKey = (event: KeyboardEvent) => {
    const at = TABS.findIndex(([key]) => key === tab);
    const moves: Partial<Record<string, number>> = { ArrowRight: at + 1, ArrowLeft: at - 1 + TABS.length, Home: 0, End: TABS.length - 1 };
    const to = moves[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const [next] = TABS[to % TABS.length];
    setTab(next);
    document.getElementById(`console-tab-${next}`)?.focus();
  };

  return (
    <Modal title={`Community console · ${communityName(mode)}`} description="Approve households, invite new ones, and set your community market's rules." onClose={onClose} wide>
      <div className="tabs" role="tablist" aria-label="Community console" onKeyDown={onTabKey}>
        {TABS.map(([key, label]) => (
          <button
            key={key}
            id={`console-tab-${key}`}
            role="tab"
            type="button"
            className="tab"
            aria-selected={tab === key}
            aria-controls={`console-panel-${key}`}
            tabIndex={tab === key ? 0 : -1}
            onClick={() => setTab(key)}
          >
            {label}{" "}
            {key === "members" && pending > 0 && (
              <span className="count count-pending">
                {pending}
                <span className="visually-hidden"> waiting</span>
              </span>
            )}
          </button>
        ))}
      </div>
      {/* Every tab stays mounted, so a half-typed form or a new invitation survives a look at another. */}
      {TABS.map(([key]) => (
        <div key={key} id={`console-panel-${key}`} role="tabpanel" aria-labelledby={`console-tab-${key}`} hidden={tab !== key} className="console-panel">
          {panels[key]}
        </div>
      ))}
    </Modal>
  );
}
