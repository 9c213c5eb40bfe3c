// Bundles the mock backend into one script that Playwright injects before the app's own.
import { defineConfig } from "vite";

export default defineConfig({
  build: {
    outDir: "../node_modules/.lumea-e2e",
    emptyOutDir: true,
    lib: { entry: "mock-backend.ts", name: "LumeaMock", formats: ["iife"], fileName: () => "mock-backend.js" },
  },
});
