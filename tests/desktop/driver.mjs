// tauri-driver and W3C WebDriver over plain HTTP, shared by the desktop test
// and the app benchmark.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
 * A private D-Bus session bus, as a desktop session has one: the app finds its
 * running instance over it (tauri-plugin-single-instance). Each driver gets its
 * own, so apps of tests run side by side never see each other, and nothing is
 * activated on it (no service directories): only the app's own names live there.
 */
async function startSessionBus() {
  const dir = mkdtempSync(join(tmpdir(), "lumea-bus-"));
  const config = join(dir, "session.conf");
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${join(dir, "bus")}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const child = spawn("dbus-daemon", ["--nofork", `--config-file=${config}`, "--print-address=1"], { stdio: ["ignore", "pipe", "ignore"] });
  // A test that dies before its after() must not leave the bus behind.
  const orphaned = () => child.kill();
  process.once("exit", orphaned);
  const address = await new Promise((resolve, reject) => {
    let out = "";
    child.once("error", (err) => reject(new Error(`dbus-daemon could not start (apt-get install dbus-daemon): ${err.message}`)));
    child.once("exit", (code) => reject(new Error(`dbus-daemon exited with ${code}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.trim());
    });
  });
  return {
    address,
    stop() {
      process.off("exit", orphaned);
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts tauri-driver with its own free ports: both its port and the one of
 * WebKitWebDriver behind it (which otherwise is always 4445, so two runs at
 * once, or a driver port of 4445, would kill the second WebKitWebDriver).
 */
export async function startDriver(env) {
  const bus = await startSessionBus();
  // What the app sees (tauri-driver hands it to WebKitWebDriver, which starts the app).
  // No accessibility bus on it: GTK is told not to look for one (NO_AT_BRIDGE).
  const appEnv = { ...process.env, ...env, DBUS_SESSION_BUS_ADDRESS: bus.address, NO_AT_BRIDGE: "1" };
  const [port, nativePort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.env.TAURI_DRIVER, ["--port", String(port), "--native-port", String(nativePort)], {
    env: appEnv,
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
    if (up === "exited" || tries > 200) {
      bus.stop();
      throw new Error("tauri-driver did not start");
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Launches the app binary and returns its WebDriver session id. */
  /** Starts the app; `args` as the OS would pass them (a lumea:// link it was opened with). */
  async function launch(application, args = []) {
    const created = await webdriver("POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application, args } } },
    });
    return created.sessionId;
  }

  return {
    webdriver,
    launch,
    env: appEnv,
    stop() {
      child.kill();
      bus.stop();
    },
  };
}
