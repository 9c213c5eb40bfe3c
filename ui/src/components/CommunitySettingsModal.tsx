// Settings: trade in the local demo neighbourhood, or sign in (or sign up) to
// a community market on a Supabase project with its URL and anon key.

import { useState, type FormEvent } from "react";
import type { ModeView } from "../bindings/ModeView";
import { api, MarketError } from "../api";
import { sentence } from "../market/errors";
import { Modal } from "./Modal";

type Props = {
  mode: ModeView;
  onChanged: (mode: ModeView, message: string) => void;
  onClose: () => void;
};

function TextField({ id, label, value, onChange, type = "text", autoComplete }: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  autoComplete?: string;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type={type} value={value} autoComplete={autoComplete ?? "off"} onChange={(event) => onChange(event.target.value)} required />
    </div>
  );
}

export function CommunitySettingsModal({ mode, onChanged, onClose }: Props) {
  const [joining, setJoining] = useState(false);
  const [url, setUrl] = useState(mode.project_url ?? "");
  const [anonKey, setAnonKey] = useState(mode.anon_key ?? "");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [username, setUsername] = useState("");
  const [community, setCommunity] = useState("default");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<ModeView>, message: (mode: ModeView) => string) => {
    setBusy(true);
    setError(null);
    try {
      const next = await action();
      onChanged(next, message(next));
    } catch (err) {
      setError(sentence(err instanceof MarketError ? err.code : "unknown"));
    } finally {
      setBusy(false);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const welcome = (next: ModeView) => `You're trading in the ${next.community_id} community as ${next.username}.`;
    void run(
      joining ? () => api.signUp(url, anonKey, email, password, username, community) : () => api.signIn(url, anonKey, email, password),
      welcome,
    );
  };

  if (mode.community) {
    return (
      <Modal title="Market settings" description="You're trading in a community market." onClose={onClose}>
        <dl className="summary">
          <dt>Community</dt>
          <dd>{mode.community_id}</dd>
          <dt>Household</dt>
          <dd>{mode.username}</dd>
          <dt>Account</dt>
          <dd>{mode.email}</dd>
          <dt>Project</dt>
          <dd>{mode.project_url}</dd>
        </dl>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
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
      description="You're trading in the local demo neighbourhood. To trade with your real neighbours, sign in to your community's market."
      onClose={onClose}
    >
      <form onSubmit={submit} aria-busy={busy}>
        <TextField id="project-url" label="Project URL" value={url} onChange={setUrl} autoComplete="url" />
        <TextField id="anon-key" label="Anon key" value={anonKey} onChange={setAnonKey} />
        <TextField id="email" label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" />
        <TextField id="password" label="Password" type="password" value={password} onChange={setPassword} autoComplete={joining ? "new-password" : "current-password"} />
        {joining && (
          <>
            <TextField id="username" label="Name shown to neighbours" value={username} onChange={setUsername} autoComplete="nickname" />
            <TextField id="community" label="Community" value={community} onChange={setCommunity} />
          </>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {joining ? "Create account" : "Sign in"}
          </button>
          <button type="button" className="button" onClick={() => setJoining(!joining)}>
            {joining ? "I have an account" : "New here? Create an account"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
