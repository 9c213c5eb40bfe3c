// The console's members: pending households first, each with the actions its
// status allows; a suspension asks first.

import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { MemberAction } from "../bindings/MemberAction";
import type { MemberView } from "../bindings/MemberView";
import type { MembershipStatus } from "../bindings/MembershipStatus";
import { api } from "../api";
import { day, memberActions, pendingFirst } from "../market/console";
import { ActionTable, Confirm, consoleViews, useAction } from "./ConsoleParts";

const ACTION: Record<MemberAction, string> = {
  approve: "Approve",
  suspend: "Suspend",
  reinstate: "Reinstate",
  make_admin: "Make admin",
  make_member: "Make member",
};

const DONE: Record<MemberAction, (name: string) => string> = {
  approve: (name) => `${name} is approved and can trade now.`,
  suspend: (name) => `${name} is suspended: their open orders are cancelled, and they can't trade until reinstated.`,
  reinstate: (name) => `${name} is reinstated and can trade again.`,
  make_admin: (name) => `${name} is now an admin of the community.`,
  make_member: (name) => `${name} is no longer an admin.`,
};

const STATUS: Record<MembershipStatus, string> = {
  none: "Not a member",
  pending: "Waiting for approval",
  active: "Active",
  suspended: "Suspended",
};

/** `you`: the household's own name, to mark its row. */
export function ConsoleMembers({ members, you }: { members: MemberView[]; you: string | null }) {
  const client = useQueryClient();
  const { busy, run, outcome } = useAction();
  const [suspending, setSuspending] = useState<string | null>(null);
  const pending = members.filter((member) => member.status === "pending").length;

  const act = (member: MemberView, action: MemberAction) => {
    setSuspending(null);
    void run(
      () => api.manageMember(member.membership_id, action),
      (updated) => {
        client.setQueryData(consoleViews.members.queryKey, (all) => all?.map((m) => (m.membership_id === updated.membership_id ? updated : m)));
        return DONE[action](updated.display_name);
      },
    );
  };

  if (members.length === 0) return <p className="empty">No members yet. Create an invitation to bring households in.</p>;
  return (
    <>
      {pending > 0 && (
        <p className="hint">
          {pending === 1 ? "1 household is" : `${pending} households are`} waiting for your approval.
        </p>
      )}
      {outcome}
      <ActionTable
        columns={["Member", "Role", "Status", "Joined", "Approved"]}
        items={pendingFirst(members)}
        keyOf={(member) => member.membership_id}
        row={(member) => (
          <>
            <th scope="row">
              {member.display_name}
              {member.display_name === you && <span className="muted"> (you)</span>}
            </th>
            <td>{member.role === "admin" ? "Admin" : "Member"}</td>
            <td>
              <span className={`status status-${member.status}`}>{STATUS[member.status]}</span>
            </td>
            <td>{day(member.joined_at)}</td>
            <td>{member.approved_at === null ? "—" : day(member.approved_at)}</td>
            <td className="row-actions">
              {memberActions(member).map((action) => (
                <button
                  key={action}
                  type="button"
                  className="link-button"
                  aria-label={`${ACTION[action]} ${member.display_name}`}
                  disabled={busy}
                  onClick={() => (action === "suspend" ? setSuspending(member.membership_id) : act(member, action))}
                >
                  {ACTION[action]}
                </button>
              ))}
            </td>
          </>
        )}
        asking={(member) =>
          suspending === member.membership_id && (
            <Confirm
              question={`Suspend ${member.display_name}? Their open orders are cancelled and they can't trade until an admin reinstates them.`}
              yes="Yes, suspend"
              no="Keep active"
              busy={busy}
              onYes={() => act(member, "suspend")}
              onNo={() => setSuspending(null)}
            />
          )
        }
      />
    </>
  );
}
