// The first run, before the household has chosen: explore the demo, or set up
// its home and then join its community with the invitation it was sent.

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import type { HomeSettings } from "../bindings/HomeSettings";
import type { ModeView } from "../bindings/ModeView";
import { api } from "../api";
import { views } from "../queries";
import { useCommand } from "../useCommand";
import { AccountForm } from "./CommunitySettingsModal";
import { FormError } from "./Field";
import { HomeForm } from "./HomeForm";

/** Setting up: the home, then the community. */
export type FirstRunStep = "home" | "join";

type Props = {
  mode: ModeView;
  home: HomeSettings | null;
  /** null: the welcome, with its two choices. */
  step: FirstRunStep | null;
  /** An invitation the system opened the app with: the join step starts with it. */
  invitation: string | null;
  onStep: (step: FirstRunStep | null) => void;
  /** Done: the market, with what happened. */
  onFinished: (message: string) => void;
};

export function FirstRun({ mode, home, step, invitation, onStep, onFinished }: Props) {
  const client = useQueryClient();
  const { run, busy, error } = useCommand();
  const heading = useRef<HTMLHeadingElement>(null);
  // Each step starts at its heading, so a screen reader reads where it is.
  useEffect(() => heading.current?.focus(), [step]);

  if (step === "home") {
    return (
      <main className="first-run card" aria-labelledby="first-run-title">
        <p className="first-run-step">Step 1 of 2</p>
        <h2 id="first-run-title" ref={heading} tabIndex={-1}>
          Your home
        </h2>
        <p className="muted">Your neighbours see your name and how far away you are, never where you live.</p>
        {invitation && (
          <p className="notice" role="status">
            You opened an invitation. Set up your home first; you'll join with the invitation next.
          </p>
        )}
        <HomeForm initial={home} submitLabel="Save and continue" onSaved={() => onStep("join")}>
          <button type="button" className="button" onClick={() => onStep(null)}>
            Back
          </button>
        </HomeForm>
      </main>
    );
  }

  if (step === "join") {
    return (
      <main className="first-run card" aria-labelledby="first-run-title">
        <p className="first-run-step">Step 2 of 2</p>
        <h2 id="first-run-title" ref={heading} tabIndex={-1}>
          Join your community
        </h2>
        <p className="muted">Your home is saved. Paste the invitation your community sent you, then create your account.</p>
        {/* A new invitation opened meanwhile starts the form again with it. */}
        <AccountForm key={invitation} mode={mode} invitation={invitation ?? ""} username={home?.display_name} start="sign-up" onChanged={(_, message) => onFinished(message)} />
        <div className="actions first-run-later">
          <button type="button" className="button" onClick={() => onStep("home")}>
            Back to your home
          </button>
          <button type="button" className="link-button" onClick={() => onFinished("Your home is set up. Join your community any time from the market settings.")}>
            Skip for now
          </button>
        </div>
      </main>
    );
  }

  const explore = () =>
    void run(api.exploreDemo, (next) => {
      client.setQueryData(views.mode.queryKey, next);
      onFinished("You're exploring the demo neighbourhood. Set up your home any time from the market settings.");
    });

  return (
    <main className="first-run card" aria-labelledby="first-run-title">
      <h2 id="first-run-title" ref={heading} tabIndex={-1}>
        Welcome to Luméa
      </h2>
      <p>Trade the energy your solar panels and battery store with your neighbours, at prices you set together.</p>
      <div className="options">
        <section className="option option-community" aria-labelledby="choose-home">
          <h3 id="choose-home">Set up my home</h3>
          <p>Tell Luméa about your home and its battery, then join your community with the invitation it sent you.</p>
          <button type="button" className="button button-primary" onClick={() => onStep("home")}>
            Set up my home
          </button>
        </section>
        <section className="option" aria-labelledby="choose-demo">
          <h3 id="choose-demo">Explore the demo</h3>
          <p>Buy and sell in a made-up neighbourhood: nothing there is real. You can set up your home later.</p>
          <button type="button" className="button" disabled={busy} onClick={explore}>
            Explore the demo
          </button>
        </section>
      </div>
      <FormError message={error} />
    </main>
  );
}
