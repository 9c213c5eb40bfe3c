// A labelled input with its hint and inline error, announced to screen
// readers: a decimal (with its unit) unless it says its type.

import type { SyntheticEvent } from "react";

type Props = {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | null;
  hint?: string;
  unit?: string;
  autoFocus?: boolean;
  type?: "text" | "email" | "password";
  autoComplete?: string;
  required?: boolean;
  onInvalid?: (event: SyntheticEvent<HTMLInputElement>) => void;
};

export function Field({ id, label, value, onChange, error, hint, unit, autoFocus, type, autoComplete, required, onInvalid }: Props) {
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="input-with-unit">
        <input
          id={id}
          type={type}
          inputMode={type ? undefined : "decimal"}
          autoComplete={autoComplete ?? "off"}
          value={value}
          autoFocus={autoFocus}
          required={required}
          onInvalid={onInvalid}
          aria-invalid={error ? true : undefined}
          aria-describedby={described}
          onChange={(event) => onChange(event.target.value)}
        />
        {unit && (
          <span className="unit" aria-hidden="true">
            {unit}
          </span>
        )}
      </div>
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** A form's refusal, as a sentence read out at once; nothing without one. */
export function FormError({ message }: { message: string | null }) {
  return (
    message && (
      <p className="error" role="alert">
        {message}
      </p>
    )
  );
}
