import "./locale-guard";
import { QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { createQueryClient } from "./queries";
import "./styles.css";

const container = document.getElementById("root")!;

/** Never a blank window: an error nobody caught still leaves a clear sentence. */
function showFailure(error: unknown) {
  container.innerHTML = "";
  const message = document.createElement("div");
  message.className = "banner banner-error";
  message.setAttribute("role", "alert");
  message.textContent = "Luméa could not show the market. Please restart the app.";
  const details = document.createElement("pre");
  details.className = "hint";
  details.textContent = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  message.append(details);
  container.append(message);
}

const queryClient = createQueryClient();

createRoot(container, { onUncaughtError: showFailure }).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
