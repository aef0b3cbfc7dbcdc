// The e2e suite: real etcd, kube-apiserver, kube-controller-manager, S3 store and Velero server, built by
// e2e/build-components.sh. Run with `npm run e2e` (builds what is missing first).
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    {
      // Same as vitest.config.ts: a .proto import is the file's text (the harness may import src/).
      name: 'proto-as-text',
      load(id) {
        if (!id.endsWith('.proto')) return null;
        return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
      },
    },
  ],
  test: {
    include: ['e2e/**/*.test.ts', 'test/packaging/**/*.e2e.ts'],
    // Each file starts its own control plane and Velero: 2 cores do not run several at once well.
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
