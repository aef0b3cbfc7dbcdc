// Scenario 9 of issue 5, through a REAL Velero server loading the built plugin: Velero restarts a plugin
// process that died. A restore of many VMs is under way when our plugin process is SIGKILLed (as the
// OOM killer or a crash would end it); Velero starts a new one for its next call. The restore must
// still finish; the only item allowed to fail is the one whose call the kill cut (Velero does not retry
// it). The cluster must then hold every VM pinned to its revisions, owned by it: the plugin keeps no
// state that a restart can lose for a VM whose revisions are in the backup (Progress reads the cluster;
// see docs/restore.md, "Limits worth knowing"). A cut VM comes back by re-running the restore.
//
// Two moments: while Velero restores the revisions (our revision action's selector leaves instance type
// and preference revisions out, so no call of ours is in flight and nothing may fail), and during the
// call for one VM, held by the test build's stall hook (KVP_TEST_STALL_RESTORE_OF, src/host/test-stall.ts)
// until the kill, so the cut is deterministic.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness/process.ts';
import { useVelero } from './harness/setup.ts';
import { statusOf } from './harness/velero.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, MatcherKinds, preference, virtualMachine, type CreatedVm } from './fixtures/kubevirt.ts';

const VMS = 60;
const PLUGIN_BINARY = 'kubevirt-velero-plugin';

// vm-005's call, in the second case's restore only. (Its revisions, vm-005-pr-it-... and vm-005-pr-pref-...,
// share the prefix: were Velero to call us for them, the stall would hold one of those and the case
// would fail on the error's name.)
const STALLED = 'pr-busy-r/vm-005';
const env = useVelero({ build: 'test-hooks', env: { KVP_TEST_STALL_RESTORE_OF: STALLED } });

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/**
 * Our plugin processes started by this test's Velero: argv[0] is the binary in this very plugin dir, and
 * the parent is a `velero` process (Velero runs plugins as its direct children).
 */
function ourPluginPids(pluginDir: string): number[] {
  const binary = join(pluginDir, PLUGIN_BINARY);
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const argv = (readProc(pid, 'cmdline') ?? '').split('\0');
    if (argv[0] !== binary) continue;
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after its ')'.
    const stat = readProc(pid, 'stat') ?? '';
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    const parentArgv0 = (readProc(ppid ?? '', 'cmdline') ?? '').split('\0')[0] ?? '';
    if (parentArgv0.endsWith('/velero')) pids.push(Number(pid));
  }
  return pids;
}

/** The error lines of `velero restore describe --details` (its "Errors:" section, less the empty kinds). */
function errorsOf(describe: string): string[] {
  const section = /\nErrors:\n([\s\S]*?)(?:\n\S|$)/.exec(describe)?.[1] ?? '';
  return section
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(Velero|Cluster|Namespaces):\s*(<none>)?$/.test(l));
}

const SRC = 'pr-src';
const BACKUP = 'pr-b';
const created = new Map<string, CreatedVm>();

/** The source namespace of VMs and one backup of it, shared by the cases. */
async function backupOfManyVms(): Promise<void> {
  await createNamespace(env.cp.kube, SRC);
  await env.cp.kube.create(instancetype({ name: 'pr-it', cpu: 2, memory: '2Gi' }));
  await env.cp.kube.create(preference({ name: 'pr-pref', namespace: SRC }));
  for (let i = 0; i < VMS; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, VMS - i) }, async (_, j) => {
        const name = `vm-${String(i + j).padStart(3, '0')}`;
        const vm = virtualMachine({ name, namespace: SRC, instancetype: { name: 'pr-it' }, preference: { name: 'pr-pref', kind: MatcherKinds.preference } });
        created.set(name, await createVmLikeKubeVirt(env.cp.kube, vm));
      }),
    );
  }
  const backup = await env.velero.velero(['backup', 'create', BACKUP, '--include-namespaces', SRC, '--snapshot-volumes=false', '--wait']);
  expect(backup.code, backup.stderr).toBe(0);
  expect(statusOf(await env.velero.waitForBackup(BACKUP)).phase).toBe('Completed');
}

async function count(ns: string, apiVersion: string, kind: string): Promise<number> {
  return (await env.cp.kube.list({ apiVersion, kind, namespace: ns })).length;
}

interface Killed {
  pid: number;
  revisionsBefore: number;
  vmsBefore: number;
}

/**
 * Starts a restore of the backup into `dst`, SIGKILLs our plugin process as soon as `when` holds for the
 * numbers of revisions and VMs restored so far, and waits for the restore to end.
 */
async function restoreAndKill(restore: string, dst: string, when: (revisions: number, vms: number) => boolean): Promise<{ killed: Killed; status: ReturnType<typeof statusOf>; describe: string }> {
  // No plugin process of ours is left from earlier operations (Velero shuts them down after each one),
  // so every one seen from here on serves this restore.
  await waitFor('earlier plugin processes gone', async () => (ourPluginPids(env.velero.pluginDir).length === 0 ? true : undefined), { timeoutMs: 30_000 });
  const startsBefore = pluginStarts();
  const started = await env.velero.velero(['restore', 'create', restore, '--from-backup', BACKUP, '--namespace-mappings', `${SRC}:${dst}`]);
  expect(started.code, started.stderr).toBe(0);
  const killed = await waitFor(`our plugin process serving restore ${restore}, at the chosen moment`, async () => {
    const pids = ourPluginPids(env.velero.pluginDir);
    if (pids.length === 0) return undefined;
    const revisions = await count(dst, 'apps/v1', 'ControllerRevision').catch(() => 0);
    const vms = await count(dst, 'kubevirt.io/v1', 'VirtualMachine').catch(() => 0);
    if (!when(revisions, vms)) return undefined;
    process.kill(pids[0] ?? -1, 'SIGKILL');
    return { pid: pids[0] ?? -1, revisionsBefore: revisions, vmsBefore: vms };
  }, { timeoutMs: 120_000, intervalMs: 20 });
  const status = statusOf(await env.velero.waitForRestore(restore, 300_000));
  const describe = (await env.velero.velero(['restore', 'describe', restore, '--details'])).stdout;
  // Velero noticed and started a new plugin process for the rest of the restore.
  expect(ourPluginPids(env.velero.pluginDir)).not.toContain(killed.pid);
  expect(pluginStarts() - startsBefore, `Velero started our plugin again after the kill:\n${describe}`).toBeGreaterThanOrEqual(2);
  return { killed, status, describe };
}

function pluginStarts(): number {
  const path = `path=${join(env.velero.pluginDir, PLUGIN_BINARY)}`;
  return env.velero.logs().split('\n').filter((l) => l.includes('msg="plugin started"') && l.includes(path)).length;
}

/** What is in the cluster: every VM in `dst`, pinned to its original revisions, which it owns. */
async function expectAllVmsBack(dst: string): Promise<void> {
  const vms = await env.cp.kube.list({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: dst });
  expect(vms.map((v) => v.metadata.name).sort()).toEqual([...created.keys()].sort());
  expect(await count(dst, 'apps/v1', 'ControllerRevision')).toBe(2 * VMS);
  // Ownership is given by a Velero v2 operation that may finish just after the phase: wait for it.
  await waitFor('every revision owned by its restored VM', async () => {
    const now = await env.cp.kube.list({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: dst });
    return now.every((r) => r.metadata.ownerReferences?.length === 1) ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  const owned = new Map(
    (await env.cp.kube.list({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: dst })).map((r) => [r.metadata.name ?? '', r]),
  );
  for (const vm of vms) {
    const before = created.get(vm.metadata.name ?? '');
    const spec = vm['spec'] as { instancetype?: { revisionName?: string }; preference?: { revisionName?: string } };
    for (const [revName, original] of [
      [spec.instancetype?.revisionName, before?.instancetypeRevision],
      [spec.preference?.revisionName, before?.preferenceRevision],
    ] as const) {
      expect(revName, `${vm.metadata.name ?? ''} pinned`).toBe(original?.metadata.name);
      const rev = owned.get(revName ?? '');
      expect(rev?.['data'], `${revName ?? ''} holds the original definition`).toEqual(original?.['data']);
      expect(rev?.metadata.ownerReferences?.[0], `${revName ?? ''} owned by its VM`).toMatchObject({ kind: 'VirtualMachine', name: vm.metadata.name, uid: vm.metadata.uid, controller: true });
    }
  }
}

describe('Velero restarts our plugin process when it dies mid-restore', () => {
  beforeAll(backupOfManyVms);

  it(`killed while Velero restores the revisions: Velero calls us for none of them (selector), so nothing fails and the ${VMS} VMs restore through the new process`, async () => {
    const dst = 'pr-revs';
    const { killed, status, describe } = await restoreAndKill('pr-revs-r', dst, (revisions, vms) => revisions >= 5 && vms === 0);
    expect(killed.vmsBefore, 'the kill must land before the VMs').toBe(0);
    expect(killed.revisionsBefore, 'the kill must land mid-revisions').toBeLessThan(2 * VMS);
    expect(errorsOf(describe), describe).toEqual([]);
    expect(status, describe).toMatchObject({ phase: 'Completed' });
    await expectAllVmsBack(dst);
    const logs = (await env.velero.velero(['restore', 'logs', 'pr-revs-r'])).stdout;
    // Velero logs this line before every action call for an item; none for the 120 labelled revisions.
    expect(logs.split('\n').filter((l) => l.includes('Executing item action for controllerrevisions.apps'))).toEqual([]);
    expect(logs).not.toContain('re-created from the point-in-time copy');
  });

  it(`killed during the call for one VM (held by the stall hook): that VM alone fails, naming it (Velero does not retry it); the others restore through the new process, and a re-run brings it back`, async () => {
    const dst = 'pr-busy';
    const stalledLines = (): number => env.velero.logs().split('\n').filter((l) => l.includes('test hook: stalling')).length;
    const before = stalledLines();
    const { status, describe } = await restoreAndKill('pr-busy-r', dst, () => stalledLines() > before);
    const errorLines = errorsOf(describe);
    expect(errorLines, describe).toHaveLength(1);
    expect(errorLines[0], describe).toMatch(new RegExp(`error preparing virtualmachines\\.kubevirt\\.io/${dst}/vm-005: rpc error: code = Unavailable`));
    expect(status, describe).toMatchObject({ phase: 'PartiallyFailed', errors: 1 });
    const restoredFirst = await env.cp.kube.list({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: dst });
    expect(restoredFirst.map((v) => v.metadata.name)).not.toContain('vm-005');
    expect(restoredFirst).toHaveLength(VMS - 1);
    const again = await env.velero.velero(['restore', 'create', 'pr-busy-r2', '--from-backup', BACKUP, '--namespace-mappings', `${SRC}:${dst}`, '--wait']);
    expect(again.code, again.stderr).toBe(0);
    const second = statusOf(await env.velero.waitForRestore('pr-busy-r2'));
    expect(second, (await env.velero.velero(['restore', 'describe', 'pr-busy-r2', '--details'])).stdout).toMatchObject({ phase: 'Completed' });
    expect(second.errors ?? 0).toBe(0);
    await expectAllVmsBack(dst);
  });
});
