// tauri-driver and W3C WebDriver over plain HTTP, shared by the desktop test
// and the app benchmark.

import { spawn } from "node:child_process";
import { createServer } from "node:net";

/** A port the OS says is free now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts tauri-driver with its own free ports: both its port and the one of
 * WebKitWebDriver behind it (which otherwise is always 4445, so two runs at
 * once, or a driver port of 4445, would kill the second WebKitWebDriver).
 */
export async function startDriver(env) {
  const [port, nativePort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.TAURI_DRIVER, ["--port", String(port), "--native-port", String(nativePort)], {
    env: { ...process.env, ...env },
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));

  async function webdriver(method, path, body) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      // A session that never starts must fail the run, not hang it.
      signal: AbortSignal.timeout(120_000),
    });
    const reply = await response.json();
    if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(reply.value)}`);
    return reply.value;
  }

  for (let tries = 0; ; tries++) {
    const up = await Promise.race([fetch(`${url}/status`).then(() => true, () => false), exited.then(() => "exited")]);
    if (up === true) break;
    if (up === "exited" || tries > 200) throw new Error("tauri-driver did not start");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Launches the app binary and returns its WebDriver session id. */
  async function launch(application) {
    const created = await webdriver("POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application } } },
    });
    return created.sessionId;
  }

  return { webdriver, launch, stop: () => child.kill() };
}
