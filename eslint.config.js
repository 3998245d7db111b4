// ESLint with typescript-eslint's recommended rules over the TypeScript sources
// (`npm run lint`; `npm test` runs it). Type-checking itself is tsc's job (strict).
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "build/**", "node_modules/**", "prebuilds/**", "**/*.cjs", "**/*.js", "**/*.mjs"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
);
