import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    {
      // The same as esbuild's `text` loader in the build: a .proto import is the file's text.
      name: 'proto-as-text',
      load(id) {
        if (!id.endsWith('.proto')) return null;
        return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
      },
    },
  ],
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
