// Where e2e/build-components.sh put the real binaries: a cache directory outside git keyed by a hash of
// e2e/versions.json (the same hash the script computes: the first 16 hex digits of its sha256).
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const e2eDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const repoDir = dirname(e2eDir);

export type Component =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'velero'
  | 'velero-old'
  | 'velero-plugin-for-aws'
  | 'versitygw'
  | 'conformance';

export function cacheRoot(): string {
  const versions = readFileSync(join(e2eDir, 'versions.json'));
  const hash = createHash('sha256').update(versions).digest('hex').slice(0, 16);
  const base = process.env['KVP_E2E_CACHE'] ?? join(homedir(), '.cache', 'kubevirt-velero-plugin-e2e');
  return join(base, hash);
}

/** Absolute path of a built component; a clear error when it has not been built yet. */
export function binary(name: Component): string {
  const path = join(cacheRoot(), 'bin', name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`e2e component ${name} is not built (${path}): run \`npm run e2e:build\` (e2e/build-components.sh)`);
  }
  return path;
}

export function isBuilt(name: Component): boolean {
  try {
    binary(name);
    return true;
  } catch {
    return false;
  }
}
