import { defineConfig } from 'vitest/config';
import { protoAsText } from './scripts/proto-text-vite-plugin.ts';

export default defineConfig({
  plugins: [protoAsText],
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
