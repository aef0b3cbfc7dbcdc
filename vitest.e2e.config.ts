// The e2e suite: real etcd, kube-apiserver, kube-controller-manager, S3 store and Velero server, built by
// e2e/build-components.sh. Run with `npm run e2e` (builds what is missing first).
import { defineConfig } from 'vitest/config';
import { protoAsText } from './scripts/proto-text-vite-plugin.ts';

export default defineConfig({
  plugins: [protoAsText],
  test: {
    include: ['e2e/**/*.test.ts', 'test/packaging/**/*.e2e.ts'],
    // Each file starts its own control plane and Velero: 2 cores do not run several at once well.
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
