// The console's invitations: create one (its link, code and QR code shown this
// once, for the server keeps only the token's hash), and the list, where an
// invitation still open can be revoked after a confirm step.

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { InvitationView } from "../bindings/InvitationView";
import { api } from "../api";
import { checkInvitation, day, invitationState, type InvitationState } from "../market/console";
import { sentence } from "../market/errors";
import { since } from "../market/format";
import { ActionTable, Confirm, Loaded, consoleViews, useAction } from "./ConsoleParts";
import { Field } from "./Field";

export function ConsoleInvitations() {
  const client = useQueryClient();
  const invitations = useQuery(consoleViews.invitations);
  const [created, setCreated] = useState<InvitationView | null>(null);
  return (
    <>
      <CreateInvitation
        onCreated={(invitation) => {
          setCreated(invitation);
          void client.invalidateQueries({ queryKey: consoleViews.invitations.queryKey });
        }}
      />
      {created && <NewInvitation invitation={created} />}
      <h3 className="console-heading">Invitations</h3>
      <Loaded query={invitations} what="the invitations">
        {(list) => <InvitationList invitations={list} onRevoked={(id) => setCreated((shown) => (shown?.invitation_id === id ? null : shown))} />}
      </Loaded>
    </>
  );
}

function CreateInvitation({ onCreated }: { onCreated: (invitation: InvitationView) => void }) {
  const [uses, setUses] = useState("10");
  const [days, setDays] = useState("7");
  const [preApproved, setPreApproved] = useState(false);
  const { busy, run, outcome } = useAction();
  const checked = checkInvitation(uses, days);
  const refused = sentence("invalid_invitation_settings");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { uses: count, days: valid } = checked;
    if (count === null || valid === null) return;
    void run(
      () => api.createInvitation(count, valid, preApproved),
      (invitation) => {
        onCreated(invitation);
        return "The invitation is ready. Copy it below and send it to the households you invite.";
      },
    );
  };

  return (
    <form className="console-form" onSubmit={submit} aria-label="Create an invitation">
      <div className="console-fields">
        <Field id="invitation-uses" label="Households it admits" unit="uses" value={uses} onChange={setUses} hint="From 1 to 1,000." error={checked.uses === null ? refused : null} />
        <Field id="invitation-days" label="Valid for" unit="days" value={days} onChange={setDays} hint="From 1 to 90 days." error={checked.days === null ? refused : null} />
      </div>
      <label className="check">
        <input type="checkbox" checked={preApproved} onChange={(event) => setPreApproved(event.target.checked)} />
        Approve households who join with it at once
      </label>
      <p className="hint">Otherwise each one waits for an admin to approve it under Members.</p>
      {outcome}
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy || checked.uses === null || checked.days === null}>
          Create invitation
        </button>
      </div>
    </form>
  );
}

/** The new invitation's secrets: shown once, never again. */
function NewInvitation({ invitation }: { invitation: InvitationView }) {
  // An image, not markup: the SVG can't run script or reach the page this way.
  const qr = invitation.qr_svg === null ? null : `data:image/svg+xml;charset=utf-8,${encodeURIComponent(invitation.qr_svg)}`;
  return (
    <section className="new-invitation" aria-labelledby="new-invitation-title">
      <h3 id="new-invitation-title">New invitation</h3>
      <p className="banner" role="note">
        <strong>Shown only this once.</strong> Copy the link or the code now. The server keeps only a fingerprint of it, so it
        can't be shown again: if it's lost, revoke the invitation and create another.
      </p>
      <div className="new-invitation-body">
        <div className="new-invitation-secrets">
          {invitation.link && <Secret id="new-invitation-link" label="Invitation link" what="link" value={invitation.link} />}
          {invitation.code && <Secret id="new-invitation-code" label="Invitation code" what="code" value={invitation.code} />}
          <p className="hint">
            {usesText(invitation.uses_left)} · valid until {day(invitation.expires_at)} · {invitation.pre_approved ? "pre-approved" : "each household needs approval"}
          </p>
        </div>
        {qr ? (
          <img className="qr" src={qr} width={200} height={200} alt="QR code of the invitation link, to scan with a phone" />
        ) : (
          <p className="hint">The link is too long for a QR code: send the link or the code.</p>
        )}
      </div>
    </section>
  );
}

const usesText = (count: number) => (count === 1 ? "1 use" : `${count.toLocaleString("en-US")} uses`);

function Secret({ id, label, what, value }: { id: string; label: string; what: string; value: string }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  // Through a promise, so a webview without the clipboard API reads as a failure too.
  const copy = () =>
    Promise.resolve()
      .then(() => navigator.clipboard.writeText(value))
      .then(
        () => setCopied(true),
        () => setCopied(false),
      );
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} readOnly rows={what === "link" ? 3 : 2} value={value} spellCheck={false} onFocus={(event) => event.currentTarget.select()} />
      <div className="secret-copy">
        <button type="button" className="button" onClick={() => void copy()}>
          Copy {what}
        </button>
        <span className="hint" role="status">
          {copied === true && `The ${what} is copied.`}
          {copied === false && `Couldn't copy: select the ${what} and copy it.`}
        </span>
      </div>
    </div>
  );
}

const STATE: Record<InvitationState, string> = {
  active: "Active",
  revoked: "Revoked",
  expired: "Expired",
  used_up: "Used up",
};

function InvitationList({ invitations, onRevoked }: { invitations: InvitationView[]; onRevoked: (id: string) => void }) {
  const client = useQueryClient();
  const { busy, run, outcome } = useAction();
  const [revoking, setRevoking] = useState<string | null>(null);

  const revoke = (id: string) => {
    setRevoking(null);
    void run(
      () => api.revokeInvitation(id),
      (revoked) => {
        client.setQueryData(consoleViews.invitations.queryKey, (all) => all?.map((i) => (i.invitation_id === revoked.invitation_id ? revoked : i)));
        onRevoked(revoked.invitation_id);
        return "The invitation is revoked: nobody can join with it any more. Households who already joined stay.";
      },
    );
  };

  if (invitations.length === 0) return <p className="empty">No invitations yet.</p>;
  return (
    <>
      {outcome}
      <ActionTable
        columns={["Created", "By", "Uses left", "Expires", "Joining", "Status"]}
        items={invitations}
        keyOf={(invitation) => invitation.invitation_id}
        row={(invitation) => {
          const state = invitationState(invitation);
          return (
            <>
              <td>{since(invitation.created_at)}</td>
              <td>{invitation.made_by ?? "—"}</td>
              <td>{invitation.uses_left}</td>
              <td>{day(invitation.expires_at)}</td>
              <td>{invitation.pre_approved ? "Pre-approved" : "Needs approval"}</td>
              <td>
                <span className={`status status-invitation-${state}`}>{STATE[state]}</span>
              </td>
              <td className="row-actions">
                {state === "active" && (
                  <button type="button" className="link-button" disabled={busy} onClick={() => setRevoking(invitation.invitation_id)}>
                    Revoke
                  </button>
                )}
              </td>
            </>
          );
        }}
        asking={(invitation) =>
          revoking === invitation.invitation_id && (
            <Confirm
              question="Revoke this invitation? Nobody can join with it any more; households who already joined stay."
              yes="Yes, revoke"
              no="Keep it"
              busy={busy}
              onYes={() => revoke(invitation.invitation_id)}
              onNo={() => setRevoking(null)}
            />
          )
        }
      />
    </>
  );
}
