// A test-only hook that makes one restore call hang, so a test can kill the plugin process while that
// call is in flight, deterministically. Test builds only: the product build drops its one call site
// (item-action-services.ts, guarded by __KVP_TEST_BUILD__; test-build.d.ts).
// KVP_TEST_STALL_RESTORE_OF=<restore name>/<item name prefix> stalls RestoreItemAction.Execute in that
// restore for the items whose name starts with the prefix, after logging "test hook: stalling". (By
// restore, not namespace: Velero hands actions the item under its backed-up namespace.)
import type { Logger } from '../velero/actions.ts';
import type { KubeObject } from '../velero/types.ts';

const STALL_MS = 120_000;

export async function stallForTest(restoreName: string, item: KubeObject, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (globalThis.__KVP_TEST_BUILD__ !== true) return;
  const spec = env['KVP_TEST_STALL_RESTORE_OF'];
  if (spec === undefined || spec === '') return;
  const slash = spec.indexOf('/');
  if (spec.slice(0, slash) !== restoreName || !(item.metadata.name ?? '').startsWith(spec.slice(slash + 1))) return;
  log.info('test hook: stalling', { stallMs: String(STALL_MS) });
  await new Promise((resolve) => setTimeout(resolve, STALL_MS));
}
