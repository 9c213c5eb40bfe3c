// After a password reset link signed the household in: its new password.

import { useState } from "react";
import { api } from "../api";
import { useCommand } from "../useCommand";
import { Field, FormError } from "./Field";
import { Modal } from "./Modal";

export function NewPasswordModal({ onSaved, onClose }: { onSaved: () => void; onClose: () => void }) {
  const [password, setPassword] = useState("");
  const { run, busy, error } = useCommand();
  return (
    <Modal title="Choose a new password" description="You opened the link to reset your password, so you're signed in. Choose the password you'll sign in with from now on." onClose={onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void run(() => api.setNewPassword(password), onSaved);
        }}
        aria-busy={busy}
      >
        <Field id="new-password" label="New password" type="password" autoComplete="new-password" hint="At least 6 characters." value={password} onChange={setPassword} required autoFocus />
        <FormError message={error} />
        <div className="actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            Save the new password
          </button>
        </div>
      </form>
    </Modal>
  );
}
