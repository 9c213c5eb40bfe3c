// Settings: trade in the local demo neighbourhood, or a community market. A
// new household signs up with the invitation its community sent (a link or a
// code that names the project, the community and the invitation); a household
// with an account signs in, the project prefilled from the last one used and
// tucked away under "Project settings".

import { useState, type FormEvent, type SyntheticEvent } from "react";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { ModeView } from "../bindings/ModeView";
import { api, MarketError } from "../api";
import { sentence } from "../market/errors";
import { invitationProject } from "../market/invitation";
import { communityName, joinedMessage, signedInMessage } from "../market/membership";
import { Modal } from "./Modal";

type Props = {
  mode: ModeView;
  onChanged: (mode: ModeView, message: string) => void;
  onClose: () => void;
};

function TextField({ id, label, value, onChange, type = "text", autoComplete, onInvalid }: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  autoComplete?: string;
  onInvalid?: (event: SyntheticEvent<HTMLInputElement>) => void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type={type}
        value={value}
        autoComplete={autoComplete ?? "off"}
        onChange={(event) => onChange(event.target.value)}
        onInvalid={onInvalid}
        required
      />
    </div>
  );
}

/** The invitation, pasted whole: a link or a code, often long and wrapped. */
function InvitationField({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  return (
    <div className="field">
      <label htmlFor="invitation">Invitation link or code</label>
      <textarea
        id="invitation"
        rows={3}
        value={value}
        autoComplete="off"
        autoCapitalize="off"
        spellCheck={false}
        aria-describedby="invitation-hint"
        onChange={(event) => onChange(event.target.value)}
        required
      />
      <p id="invitation-hint" className="hint">
        Paste what your community sent you: a link starting with lumea://join or a code starting with LUMEA1-.
      </p>
    </div>
  );
}

const codeOf = (err: unknown): ErrorCode => (err instanceof MarketError ? err.code : "unknown");

const STATUS: Record<NonNullable<ModeView["membership"]>, string> = {
  none: "Not a member yet",
  pending: "Waiting for an admin's approval",
  active: "Active",
  suspended: "Suspended",
};

export function CommunitySettingsModal({ mode, onChanged, onClose }: Props) {
  const [joining, setJoining] = useState(false);
  const [invitation, setInvitation] = useState("");
  const [url, setUrl] = useState(mode.project_url ?? "");
  const [anonKey, setAnonKey] = useState(mode.anon_key ?? "");
  // Prefilled, the project is tucked away; empty, it must be typed.
  const [projectOpen, setProjectOpen] = useState(!mode.project_url || !mode.anon_key);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [username, setUsername] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<ModeView>, message: (mode: ModeView) => string, refused?: (code: ErrorCode) => boolean) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const next = await action();
      onChanged(next, message(next));
    } catch (err) {
      const code = codeOf(err);
      if (!refused?.(code)) setError(sentence(code));
    } finally {
      setBusy(false);
    }
  };

  /** Signed up where the project confirms email first: the core keeps the invitation for the first sign-in. */
  const confirmFirst = (code: ErrorCode) => {
    if (code !== "email_not_confirmed") return false;
    const project = invitationProject(invitation);
    if (project) {
      setUrl(project.url);
      setAnonKey(project.anonKey);
      setProjectOpen(false);
    }
    setJoining(false);
    setNotice(`Check your email: open the link we sent to ${email.trim()}, then sign in here.`);
    return true;
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (joining) void run(() => api.signUp(invitation, email, password, username), joinedMessage, confirmFirst);
    else void run(() => api.signIn(url, anonKey, email, password), signedInMessage);
  };

  // Opened at once, not on the next render: the browser points at the field right after this event.
  const showProject = (event: SyntheticEvent<HTMLInputElement>) => {
    const details = event.currentTarget.closest("details");
    if (details) details.open = true;
    setProjectOpen(true);
  };

  const switchForm = () => {
    setJoining(!joining);
    setError(null);
    setNotice(null);
  };

  const errorLine = error && (
    <p className="error" role="alert">
      {error}
    </p>
  );

  if (mode.community) {
    const status = mode.membership ? STATUS[mode.membership] : null;
    return (
      <Modal title="Market settings" description="You're trading in a community market." onClose={onClose}>
        <dl className="summary">
          {mode.community_id && (
            <>
              <dt>Community</dt>
              <dd>{communityName(mode)}</dd>
            </>
          )}
          {status && (
            <>
              <dt>Membership</dt>
              <dd>{mode.role === "admin" ? `${status} · admin` : status}</dd>
            </>
          )}
          {mode.username && (
            <>
              <dt>Household</dt>
              <dd>{mode.username}</dd>
            </>
          )}
          <dt>Account</dt>
          <dd>{mode.email}</dd>
          <dt>Project</dt>
          <dd>{mode.project_url}</dd>
        </dl>
        {mode.membership === "none" && (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void run(() => api.joinCommunity(invitation, username), joinedMessage);
            }}
            aria-busy={busy}
          >
            <p>Join your community with the invitation it sent you.</p>
            <InvitationField value={invitation} onChange={setInvitation} />
            <TextField id="username" label="Name shown to neighbours" value={username} onChange={setUsername} autoComplete="nickname" />
            <div className="actions">
              <button type="submit" className="button button-primary" disabled={busy}>
                Join community
              </button>
            </div>
          </form>
        )}
        {errorLine}
        <div className="actions">
          <button type="button" className="button" disabled={busy} onClick={() => void run(api.useLocalMode, () => "Signed out. You're back in the local demo market.")}>
            Sign out and use the local demo
          </button>
        </div>
      </Modal>
    );
  }

  return (
    <Modal
      title="Market settings"
      description={
        joining
          ? "Create an account with the invitation your community sent you, to trade with your real neighbours."
          : "You're trading in the local demo neighbourhood. To trade with your real neighbours, sign in to your community's market."
      }
      onClose={onClose}
    >
      <form onSubmit={submit} aria-busy={busy}>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {joining && <InvitationField value={invitation} onChange={setInvitation} />}
        <TextField id="email" label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" />
        <TextField id="password" label="Password" type="password" value={password} onChange={setPassword} autoComplete={joining ? "new-password" : "current-password"} />
        {joining ? (
          <TextField id="username" label="Name shown to neighbours" value={username} onChange={setUsername} autoComplete="nickname" />
        ) : (
          <details className="disclosure" open={projectOpen} onToggle={(event) => setProjectOpen(event.currentTarget.open)}>
            <summary>Project settings</summary>
            <p className="hint">Your community market's Supabase project. Signing up with an invitation sets it for you.</p>
            {/* A required field left empty opens the disclosure, so the browser can point at it. */}
            <TextField id="project-url" label="Project URL" value={url} onChange={setUrl} autoComplete="url" onInvalid={showProject} />
            <TextField id="anon-key" label="Anon key" value={anonKey} onChange={setAnonKey} onInvalid={showProject} />
          </details>
        )}
        {errorLine}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {joining ? "Create account" : "Sign in"}
          </button>
          <button type="button" className="button" onClick={switchForm}>
            {joining ? "I have an account" : "New here? Create an account"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
