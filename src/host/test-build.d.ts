// scripts/build.mjs replaces `globalThis.__KVP_TEST_BUILD__` with `true` in test builds (--test-plugin,
// --test-hooks) and `false` in the product, so test-only switches vanish from the shipped binary.
// Unbundled (vitest, tsx) it is undefined: off.
declare global {
  var __KVP_TEST_BUILD__: boolean | undefined;
}
export {};
