import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  // Tauri serves the built files itself; a fixed port lets `tauri dev` find the dev server.
  server: { port: 5173, strictPort: true },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  // Times are written in the device's zone: the unit tests fix one, whatever the machine's.
  test: { include: ["src/**/*.test.ts"], env: { TZ: "Europe/Paris" } },
});
