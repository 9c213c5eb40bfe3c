// Settings: trade in the local demo neighbourhood, or a community market. A
// new household signs up with the invitation its community sent (a link or a
// code that names the project, the community and the invitation); a household
// with an account signs in, the project prefilled from the last one used and
// tucked away under "Project settings". The household's home is shown here,
// to edit in its own dialog.

import { useState, type FormEvent, type SyntheticEvent } from "react";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { HomeSettings } from "../bindings/HomeSettings";
import type { ModeView } from "../bindings/ModeView";
import { api } from "../api";
import { invitationProject } from "../market/invitation";
import { kwh, kwp } from "../market/format";
import { communityName, joinedMessage, signedInMessage } from "../market/membership";
import { useCommand } from "../useCommand";
import { Field, FormError } from "./Field";
import { Modal } from "./Modal";

type Props = {
  mode: ModeView;
  home: HomeSettings | null;
  /** An invitation the system opened the app with, to sign up or join with. */
  invitation?: string;
  onChanged: (mode: ModeView, message: string) => void;
  onEditHome: () => void;
  onClose: () => void;
};

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

/** The name neighbours read, prefilled from the home. */
const NameField = ({ value, onChange }: { value: string; onChange: (value: string) => void }) => (
  <Field id="username" label="Name shown to neighbours" type="text" value={value} onChange={onChange} autoComplete="nickname" required />
);

const STATUS: Record<NonNullable<ModeView["membership"]>, string> = {
  none: "Not a member yet",
  pending: "Waiting for an admin's approval",
  active: "Active",
  suspended: "Suspended",
};

export function CommunitySettingsModal({ mode, home, invitation = "", onChanged, onEditHome, onClose }: Props) {
  const { run, busy, error } = useCommand();
  const [joinWith, setJoinWith] = useState(invitation);
  const [username, setUsername] = useState(home?.display_name ?? "");
  const changed = (message: (mode: ModeView) => string) => (next: ModeView) => onChanged(next, message(next));

  if (!mode.community) {
    return (
      <Modal
        title="Market settings"
        description="You're trading in the local demo neighbourhood. To trade with your real neighbours, sign in to your community's market or create an account with its invitation."
        onClose={onClose}
      >
        <AccountForm mode={mode} invitation={invitation} username={home?.display_name} start={invitation ? "sign-up" : "sign-in"} onChanged={onChanged} />
        <HomeSummary home={home} onEdit={onEditHome} />
      </Modal>
    );
  }

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
            void run(() => api.joinCommunity(joinWith, username), changed(joinedMessage));
          }}
          aria-busy={busy}
        >
          <p>Join your community with the invitation it sent you.</p>
          <InvitationField value={joinWith} onChange={setJoinWith} />
          <NameField value={username} onChange={setUsername} />
          <div className="actions">
            <button type="submit" className="button button-primary" disabled={busy}>
              Join community
            </button>
          </div>
        </form>
      )}
      <FormError message={error} />
      <div className="actions">
        <button type="button" className="button" disabled={busy} onClick={() => void run(api.useLocalMode, changed(() => "Signed out. You're back in the local demo market."))}>
          Sign out and use the local demo
        </button>
      </div>
      <HomeSummary home={home} onEdit={onEditHome} />
    </Modal>
  );
}

type AccountView = "sign-in" | "sign-up" | "reset";

type AccountProps = {
  mode: ModeView;
  /** Prefilled: an invitation the app was opened with. */
  invitation?: string;
  /** Prefilled: the name the home set up. */
  username?: string;
  start: AccountView;
  onChanged: (mode: ModeView, message: string) => void;
};

/**
 * Signing in, signing up with an invitation, or asking for a password reset
 * link: in the settings, and as the first run's last step.
 */
export function AccountForm({ mode, invitation: invited = "", username: named = "", start, onChanged }: AccountProps) {
  const [view, setView] = useState<AccountView>(start);
  const [invitation, setInvitation] = useState(invited);
  const [url, setUrl] = useState(mode.project_url ?? "");
  const [anonKey, setAnonKey] = useState(mode.anon_key ?? "");
  // Prefilled, the project is tucked away; empty, it must be typed.
  const [projectOpen, setProjectOpen] = useState(!mode.project_url || !mode.anon_key);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [username, setUsername] = useState(named);
  const [notice, setNotice] = useState<string | null>(null);
  const { run, busy, error, clearError } = useCommand();

  const show = (next: AccountView, message: string | null = null) => {
    setView(next);
    setNotice(message);
    clearError();
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
    show("sign-in", `Check your email: open the link we sent to ${email.trim()} on this device. It opens Luméa and finishes signing you in. Or confirm, then sign in here.`);
    return true;
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    const changed = (message: (mode: ModeView) => string) => (next: ModeView) => onChanged(next, message(next));
    if (view === "sign-up") void run(() => api.signUp(invitation, email, password, username), changed(joinedMessage), confirmFirst);
    else if (view === "sign-in") void run(() => api.signIn(url, anonKey, email, password), changed(signedInMessage));
    else
      void run(
        () => api.requestPasswordReset(email),
        () => show("sign-in", `If an account exists for ${email.trim()}, we sent it a link to choose a new password. Open it on this device: Luméa asks for the new one.`),
      );
  };

  // Opened at once, not on the next render: the browser points at the field right after this event.
  const showProject = (event: SyntheticEvent<HTMLInputElement>) => {
    const details = event.currentTarget.closest("details");
    if (details) details.open = true;
    setProjectOpen(true);
  };

  return (
    <form onSubmit={submit} aria-busy={busy}>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {view === "reset" && <p>Enter your account's email: we'll send it a link to choose a new password.</p>}
      {view === "sign-up" && <InvitationField value={invitation} onChange={setInvitation} />}
      <Field id="email" label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" required />
      {view !== "reset" && (
        <Field id="password" label="Password" type="password" value={password} onChange={setPassword} autoComplete={view === "sign-up" ? "new-password" : "current-password"} required />
      )}
      {view === "sign-in" && mode.project_url && (
        <button type="button" className="link-button" onClick={() => show("reset")}>
          Forgot password?
        </button>
      )}
      {view === "sign-up" && (
        <>
          <NameField value={username} onChange={setUsername} />
          <p className="hint">
            Once you've signed up, your membership waits for an admin of your community to approve it, unless your invitation was pre-approved. You can look
            around the market in the meantime.
          </p>
        </>
      )}
      {view === "sign-in" && (
        <details className="disclosure" open={projectOpen} onToggle={(event) => setProjectOpen(event.currentTarget.open)}>
          <summary>Project settings</summary>
          <p className="hint">Your community market's Supabase project. Signing up with an invitation sets it for you.</p>
          {/* A required field left empty opens the disclosure, so the browser can point at it. */}
          <Field id="project-url" label="Project URL" type="text" value={url} onChange={setUrl} autoComplete="url" required onInvalid={showProject} />
          <Field id="anon-key" label="Anon key" type="text" value={anonKey} onChange={setAnonKey} required onInvalid={showProject} />
        </details>
      )}
      <FormError message={error} />
      <div className="actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {SUBMIT[view]}
        </button>
        {view === "sign-in" ? (
          <button type="button" className="button" onClick={() => show("sign-up")}>
            New here? Create an account
          </button>
        ) : (
          <button type="button" className="button" onClick={() => show("sign-in")}>
            {view === "reset" ? "Back to sign in" : "I have an account"}
          </button>
        )}
      </div>
    </form>
  );
}

const SUBMIT: Record<AccountView, string> = { "sign-in": "Sign in", "sign-up": "Create account", reset: "Send the link" };

/** The home as the household set it up, or the way to set it up. */
function HomeSummary({ home, onEdit }: { home: HomeSettings | null; onEdit: () => void }) {
  return (
    <section className="home-summary" aria-labelledby="home-summary-title">
      <h3 id="home-summary-title">Your home</h3>
      {home ? (
        <dl className="summary">
          <dt>Name</dt>
          <dd>{home.display_name}</dd>
          <dt>Location</dt>
          <dd>{home.location}</dd>
          <dt>Battery</dt>
          <dd>{home.battery_capacity && home.battery_level ? `${kwh(home.battery_level)} of ${kwh(home.battery_capacity)}` : "No battery"}</dd>
          <dt>Solar panels</dt>
          <dd>{home.pv_kwp ? kwp(home.pv_kwp) : "—"}</dd>
          <dt>Figures</dt>
          <dd>
            {home.locale} · {home.currency}
          </dd>
        </dl>
      ) : (
        <p className="hint">Not set up yet. Your community's market needs your home's location and battery before you can join it.</p>
      )}
      <div className="actions">
        <button type="button" className="button" onClick={onEdit}>
          {home ? "Edit your home" : "Set up my home"}
        </button>
      </div>
    </section>
  );
}
