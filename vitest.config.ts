import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { protoAsText } from './scripts/proto-text-vite-plugin.ts';

export default defineConfig({
  plugins: [protoAsText],
  // As scripts/build.mjs does for the bundle: the version in the plugin's User-Agent.
  define: { __KVP_VERSION__: JSON.stringify((JSON.parse(readFileSync(new URL('package.json', import.meta.url), 'utf8')) as { version: string }).version) },
  test: {
    include: ['test/**/*.test.ts'],
    // The differential tests against KubeVirt's Go code need the oracle built from the Go module proxy:
    // `npm run test:oracle` (vitest.oracle.config.ts) runs them, and CI does too.
    exclude: ['test/oracle/**', 'node_modules/**'],
    // Tests that spawn the built binary or a real API server need more than the default 5 s.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
