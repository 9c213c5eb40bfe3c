// ESLint for the UI: typescript-eslint with type information (tsconfig.json's
// project, read by the project service) and the React hooks rules. `npm run
// lint` allows no warning, so every rule here is one the code keeps.

import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores(["dist/"]),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
  {
    files: ["src/**/*.{ts,tsx}", "e2e/**/*.ts"],
    extends: [reactHooks.configs.flat.recommended],
    languageOptions: { globals: globals.browser },
  },
  {
    // The browser e2e's stand-in for the core rejects a command as the real
    // shell does: with a plain CommandError object ({code, message}), not an Error.
    files: ["e2e/mock-backend.ts"],
    rules: {
      "@typescript-eslint/only-throw-error": ["error", { allow: [{ from: "file", name: "CommandError", path: "src/bindings/CommandError.ts" }] }],
    },
  },
  {
    // Plain JavaScript (this file, the browser e2e driver) has no types to check against.
    files: ["**/*.{js,mjs}"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
