// The differential tests of the expansion against KubeVirt's own Go code (test/oracle/): run by
// `npm run test:oracle` after test/oracle/build.sh has built the oracles into ~/.cache.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default defineConfig({
  plugins: base.plugins ?? [],
  test: {
    include: ['test/oracle/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
