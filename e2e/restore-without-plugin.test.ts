// Issue 5, scenario 5: a backup made by a Velero WITHOUT this plugin, whose revisions were left out
// (so the backup has neither the revisions nor our point-in-time copies), restored by a Velero WITH it.
// Each policy gives its outcome: re-created from the instance type / preference objects (their
// current definitions, with a warning), the VM expanded, or the VM refused with its name.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import { createNamespace, createVmLikeKubeVirt, type CreatedVm, INSTANCETYPE_API_VERSION, instancetype, preference, virtualMachine } from './fixtures/kubevirt.ts';
import { waitFor } from './harness/process.ts';
import { useControlPlane } from './harness/setup.ts';
import { makePluginDir, startVelero, type Velero, statusOf } from './harness/velero.ts';

const NS = 'np-src';
const BACKUP = 'np-no-plugin';
const env = useControlPlane({ controllerManager: true });
let velero: Velero;
let created: CreatedVm;
let saved: string;

const vmKey = (namespace: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace, name: 'vm1' });
const revisionKey = (namespace: string, name: string) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace, name });

async function restore(name: string, target: string, labels: string[] = []): Promise<{ restore: KubeObject; logs: string; describe: string }> {
  const args = ['restore', 'create', name, '--from-backup', BACKUP, '--namespace-mappings', `${NS}:${target}`, '--wait'];
  if (labels.length > 0) args.push('--labels', labels.join(','));
  const res = await velero.velero(args);
  expect(res.code, res.stderr).toBe(0);
  return {
    restore: await velero.waitForRestore(name),
    logs: (await velero.velero(['restore', 'logs', name])).stdout,
    describe: (await velero.velero(['restore', 'describe', name, '--details'])).stdout,
  };
}

beforeAll(async () => {
  await createNamespace(env.cp.kube, NS);
  await env.cp.kube.create(instancetype({ name: 'np-it', cpu: 2, memory: '2Gi' }));
  await env.cp.kube.create(preference({ name: 'np-pref', namespace: NS }));
  created = await createVmLikeKubeVirt(
    env.cp.kube,
    virtualMachine({ name: 'vm1', namespace: NS, instancetype: { name: 'np-it' }, preference: { name: 'np-pref', kind: 'VirtualMachinePreference' } }),
  );
  // A Velero with only the AWS plugin backs the namespace up, revisions excluded.
  const plain = await startVelero(env.cp, { pluginDir: await makePluginDir({ ours: false }) });
  saved = mkdtempSync(join(tmpdir(), 'kvp-e2e-no-plugin-'));
  try {
    const res = await plain.velero(['backup', 'create', BACKUP, '--include-namespaces', NS, '--exclude-resources', 'controllerrevisions.apps', '--snapshot-volumes=false', '--wait']);
    expect(res.code, res.stderr).toBe(0);
    expect(statusOf(await plain.waitForBackup(BACKUP)).phase).toBe('Completed');
    const stored = plain.readBackupTarball(BACKUP);
    expect([...stored.keys()].filter((k) => k.includes('controllerrevisions'))).toEqual([]);
    const vm = stored.get(`resources/virtualmachines.kubevirt.io/namespaces/${NS}/vm1.json`) as KubeObject;
    expect(vm.metadata.annotations?.['velero.kubevirt.io/revision-copies']).toBeUndefined();
    cpSync(join(plain.bucketDir, 'backups', BACKUP), join(saved, BACKUP), { recursive: true });
  } finally {
    await plain.stop();
  }
  // The instance type changes after the backup; the VM and (through the garbage collector) its
  // revisions go away.
  await env.cp.kube.mergePatch({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineClusterInstancetype', name: 'np-it' }, { spec: { cpu: { guest: 4 } } });
  await env.cp.kube.delete(vmKey(NS));
  const itRev = created.instancetypeRevision?.metadata.name ?? '';
  await waitFor('revision collected', async () => ((await env.cp.kube.get(revisionKey(NS, itRev))) === undefined ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });

  velero = await startVelero(env.cp, { pluginDir: await makePluginDir() });
  cpSync(join(saved, BACKUP), join(velero.bucketDir, 'backups', BACKUP), { recursive: true });
  await waitFor('backup synced into the new Velero', async () => ((await velero.getBackup(BACKUP)) !== undefined ? true : undefined), { timeoutMs: 120_000, intervalMs: 1000 });
});

afterAll(async () => {
  await velero?.stop();
  if (saved) rmSync(saved, { recursive: true, force: true });
});

describe('a backup made without this plugin, revisions excluded', () => {
  it('policy recreate (default): the revisions are re-created from the objects, current definitions, with a warning; owned by the VM', async () => {
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    const prefRev = created.preferenceRevision?.metadata.name ?? '';
    const { restore: r, logs } = await restore('np-recreate', 'np-recreate');
    expect(statusOf(r).phase, JSON.stringify(r['status'])).toBe('Completed');
    const vm = await env.cp.kube.get(vmKey('np-recreate'));
    // Pinned to the revision names the VM had (from the backed-up status), as KubeVirt would look them up.
    expect(vm?.['spec']).toMatchObject({ instancetype: { name: 'np-it', revisionName: itRev }, preference: { name: 'np-pref', revisionName: prefRev } });
    const rev = await env.cp.kube.get(revisionKey('np-recreate', itRev));
    expect(((rev?.['data'] as JsonObject | undefined)?.['spec'] as JsonObject | undefined)?.['cpu']).toEqual({ guest: 4 });
    expect(rev?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'VirtualMachine', name: 'vm1', uid: vm?.metadata.uid, controller: true });
    expect(await env.cp.kube.get(revisionKey('np-recreate', prefRev))).toBeDefined();
    expect(logs).toContain(`re-created from the CURRENT definition`);
    expect(statusOf(r).warnings ?? 0).toBeGreaterThan(0);
  });

  it('policy expand: the VM comes back expanded, needing no revision', async () => {
    const { restore: r, logs } = await restore('np-expand', 'np-expand', ['velero.kubevirt.io/missing-revision-policy=expand']);
    expect(statusOf(r).phase, JSON.stringify(r['status'])).toBe('Completed');
    const vm = await env.cp.kube.get(vmKey('np-expand'));
    const spec = vm?.['spec'] as JsonObject;
    expect(spec['instancetype']).toBeUndefined();
    expect(spec['preference']).toBeUndefined();
    const domain = ((spec['template'] as JsonObject)['spec'] as JsonObject)['domain'] as JsonObject;
    expect(domain['memory']).toMatchObject({ guest: '2Gi' });
    expect(domain['cpu']).toBeDefined();
    expect(logs).toContain('VirtualMachine np-expand/vm1 expanded');
  });

  it('policy fail: the restore is PartiallyFailed and its errors name the VM and the missing revision', async () => {
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    const { restore: r, describe: d } = await restore('np-fail', 'np-fail', ['velero.kubevirt.io/missing-revision-policy=fail']);
    expect(statusOf(r).phase).toBe('PartiallyFailed');
    expect(d).toContain(`VirtualMachine np-fail/vm1 cannot be restored: its instancetype revision ${itRev}`);
  });
});
