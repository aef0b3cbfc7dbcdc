// The restore scenarios of issue 6 through a REAL Velero server loading the built plugin binary, on a
// real control plane with the garbage collector: what a user sees after `velero restore create`.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import type { ControlPlane } from './harness/control-plane.ts';
import { waitFor } from './harness/process.ts';
import { useControlPlane, useVelero } from './harness/setup.ts';
import { makePluginDir, startVelero, type Velero, statusOf } from './harness/velero.ts';
import { createNamespace, createVmLikeKubeVirt, INSTANCETYPE_API_VERSION, instancetype, preference, startVmLikeKubeVirt, virtualMachine, type CreatedVm } from './fixtures/kubevirt.ts';

const env = useControlPlane({ controllerManager: true });

const vmKey = (namespace: string, name: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace, name });
const revisionKey = (namespace: string, name: string) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace, name });
const clusterItKey = (name: string) => ({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineClusterInstancetype', name });

async function gone(what: string, key: Parameters<ControlPlane['kube']['get']>[0]): Promise<void> {
  await waitFor(what, async () => ((await env.cp.kube.get(key)) === undefined ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
}

/** A namespace with a cluster instance type, a namespaced preference and a VM using both, KubeVirt >= 1.5 style. */
async function vmWithRevisions(ns: string, itName: string, labels: Record<string, string> = {}): Promise<CreatedVm> {
  await createNamespace(env.cp.kube, ns);
  await env.cp.kube.create(instancetype({ name: itName, cpu: 2, memory: '2Gi' }));
  await env.cp.kube.create(preference({ name: 'pref', namespace: ns }));
  return createVmLikeKubeVirt(
    env.cp.kube,
    virtualMachine({ name: 'vm1', namespace: ns, labels, instancetype: { name: itName }, preference: { name: 'pref', kind: 'virtualmachinepreference' } }),
  );
}

/**
 * Velero's built-in pod-volume restore action reads its own Deployment (for its image) whenever a
 * restore starts, and the restore fails ("deployments.apps \"velero\" not found") without one. Out of
 * cluster there is none: create what `velero install` would have created (no controller runs it here).
 */
async function veleroDeployment(): Promise<void> {
  const key = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'velero', name: 'velero' };
  if ((await env.cp.kube.get(key)) !== undefined) return;
  await env.cp.kube.create({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'velero', namespace: 'velero', labels: { component: 'velero' } },
    spec: {
      selector: { matchLabels: { deploy: 'velero' } },
      template: {
        metadata: { labels: { deploy: 'velero' } },
        spec: { containers: [{ name: 'velero', image: 'velero/velero:v1.18.1', command: ['/velero'], args: ['server'] }] },
      },
    },
  });
}

async function veleroOk(velero: Velero, args: string[]): Promise<void> {
  const res = await velero.velero(args);
  expect(res.code, `velero ${args.join(' ')}: ${res.stderr}`).toBe(0);
}


/** The restore's log as `velero restore logs` shows it. */
async function restoreDescribe(velero: Velero, name: string): Promise<string> {
  return (await velero.velero(['restore', 'describe', name, '--details'])).stdout;
}

const ENVIRONMENT_WARNINGS = [
  // This control plane has no VolumeGroupSnapshot CRDs, which Velero >= 1.17 looks for on every restore.
  /failed to list stub VolumeGroupSnapshotContents/,
  // Velero backs up the CRDs of the custom resources in a backup; ours differ from the stored copies
  // only in server-set fields, and Velero compares them anyway.
  /could not restore, CustomResourceDefinition:/,
];

/** The warning lines of `velero restore describe`, less the ones this environment always causes. */
function warningsOf(describe: string): string[] {
  const section = /\nWarnings:\n([\s\S]*?)\n\S/.exec(describe)?.[1] ?? '';
  return section
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(Velero|Cluster|Namespaces):\s*(<none>)?$/.test(l))
    .map((l) => l.replace(/^[\w.-]+:\s+(?=\S)/, '')) // "Cluster:  ...", "<namespace>:  ..."
    .filter((l) => !ENVIRONMENT_WARNINGS.some((re) => re.test(l)));
}

async function restoreLogs(velero: Velero, name: string): Promise<string> {
  const res = await velero.velero(['restore', 'logs', name]);
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
}

function expectOwnedBy(revision: KubeObject | undefined, vm: KubeObject | undefined): void {
  expect(revision?.metadata.ownerReferences).toEqual([
    { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: vm?.metadata.name, uid: vm?.metadata.uid, controller: true, blockOwnerDeletion: true },
  ]);
}

describe('with this plugin', () => {
  useVelero({ on: env });
  beforeAll(veleroDeployment);

  it('VM backed up alone by label selector; VM, instance type and preference deleted; restored with the ORIGINAL revisions, owned by the new VM', async () => {
    const ns = 'rv-selector';
    const created = await vmWithRevisions(ns, 'rv-sel-it', { app: 'rv-sel' });
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    const prefRev = created.preferenceRevision?.metadata.name ?? '';
    await veleroOk(env.velero, ['backup', 'create', 'rv-sel-b', '--include-namespaces', ns, '--selector', 'app=rv-sel', '--snapshot-volumes=false', '--wait']);
    expect(statusOf(await env.velero.waitForBackup('rv-sel-b')).phase).toBe('Completed');

    // The instance type changes, then everything goes away (the VM's revisions with it, by GC).
    await env.cp.kube.mergePatch(clusterItKey('rv-sel-it'), { spec: { cpu: { guest: 16 } } });
    await env.cp.kube.delete(vmKey(ns, 'vm1'));
    await gone('instancetype revision collected', revisionKey(ns, itRev));
    await gone('preference revision collected', revisionKey(ns, prefRev));
    await env.cp.kube.delete(clusterItKey('rv-sel-it'));
    await env.cp.kube.delete({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachinePreference', namespace: ns, name: 'pref' });

    await veleroOk(env.velero, ['restore', 'create', 'rv-sel-r', '--from-backup', 'rv-sel-b', '--selector', 'app=rv-sel', '--wait']);
    const restore = await env.velero.waitForRestore('rv-sel-r');
    expect(statusOf(restore), JSON.stringify(restore['status'])).toMatchObject({ phase: 'Completed' });
    expect(statusOf(restore).errors ?? 0).toBe(0);
    expect(warningsOf(await restoreDescribe(env.velero, 'rv-sel-r'))).toEqual([]);

    const vm = await env.cp.kube.get(vmKey(ns, 'vm1'));
    expect(vm?.['spec']).toMatchObject({ instancetype: { name: 'rv-sel-it', revisionName: itRev }, preference: { name: 'pref', revisionName: prefRev } });
    expect(vm?.metadata.annotations?.['velero.kubevirt.io/revision-copies']).toBeUndefined();
    const rev = await env.cp.kube.get(revisionKey(ns, itRev));
    expect(rev?.['data']).toEqual(created.instancetypeRevision?.['data']); // 2 CPUs, not 16
    expectOwnedBy(rev, vm);
    expectOwnedBy(await env.cp.kube.get(revisionKey(ns, prefRev)), vm);
    expect(await env.cp.kube.get(clusterItKey('rv-sel-it'))).toBeDefined();
    const logs = await restoreLogs(env.velero, 'rv-sel-r');
    expect(logs).toContain(`instancetype revision ${itRev} (VirtualMachineClusterInstancetype rv-sel-it): restored from the backup`);
    // Re-owning is a Velero v2 operation. Velero calls Progress once before it closes the restore's log;
    // when that call cannot finish it (the plugin says why in the operation's description), Velero's
    // operations controller finishes it later and the plugin's line goes to the server log instead.
    const owned = `revision ${itRev}: owned by VirtualMachine ${ns}/vm1`;
    if (!logs.includes(owned)) {
      const describe = await env.velero.velero(['restore', 'describe', 'rv-sel-r', '--details']);
      process.stderr.write(`re-owning finished after the restore's log was closed:\n${describe.stdout}\n`);
      await waitFor('the owner line in the Velero server log', async () => (env.velero.logs().includes(owned) ? true : undefined), { timeoutMs: 30_000 });
    }
    // Execute and AreAdditionalItemsReady ran in the same plugin process, as the action relies on.
    expect(logs).not.toContain('did not prepare');
  });

  it('revisions excluded from the backup: re-created from the point-in-time copy in the mapped namespace, owned, then collected with the VM', async () => {
    const ns = 'rv-excl';
    const created = await vmWithRevisions(ns, 'rv-excl-it');
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    await veleroOk(env.velero, ['backup', 'create', 'rv-excl-b', '--include-namespaces', ns, '--exclude-resources', 'controllerrevisions.apps', '--snapshot-volumes=false', '--wait']);
    expect(statusOf(await env.velero.waitForBackup('rv-excl-b')).phase).toBe('Completed');
    const stored = [...env.velero.readBackupTarball('rv-excl-b').keys()];
    expect(stored.filter((k) => k.includes('controllerrevisions'))).toEqual([]);
    await env.cp.kube.mergePatch(clusterItKey('rv-excl-it'), { spec: { memory: { guest: '64Gi' } } });

    await veleroOk(env.velero, ['restore', 'create', 'rv-excl-r', '--from-backup', 'rv-excl-b', '--namespace-mappings', `${ns}:rv-excl-dst`, '--wait']);
    expect(statusOf(await env.velero.waitForRestore('rv-excl-r'))).toMatchObject({ phase: 'Completed' });
    // Velero rightly says the instance type changed since the backup; nothing else (no missing revisions).
    expect(warningsOf(await restoreDescribe(env.velero, 'rv-excl-r'))).toEqual([
      'could not restore, VirtualMachineClusterInstancetype:rv-excl-it already exists. Warning: the in-cluster version is different than the backed-up version',
    ]);

    const vm = await env.cp.kube.get(vmKey('rv-excl-dst', 'vm1'));
    const rev = await env.cp.kube.get(revisionKey('rv-excl-dst', itRev));
    expect((rev?.['data'] as JsonObject | undefined)?.['spec']).toEqual({ cpu: { guest: 2 }, memory: { guest: '2Gi' } });
    expect(rev?.metadata.labels).toMatchObject(created.instancetypeRevision?.metadata.labels ?? {});
    expectOwnedBy(rev, vm);
    expect(await restoreLogs(env.velero, 'rv-excl-r')).toContain('re-created from the point-in-time copy in the backed-up VM (exact)');

    await env.cp.kube.delete(vmKey('rv-excl-dst', 'vm1'));
    await gone('re-created revision collected with its VM', revisionKey('rv-excl-dst', itRev));
  });

  it('a running KubeVirt <= 1.4 VM restored with expand-vms, run strategy Halted and new identities; its VMI and launcher pod are left to KubeVirt', async () => {
    const ns = 'rv-knobs';
    await createNamespace(env.cp.kube, ns);
    await env.cp.kube.create(instancetype({ name: 'rv-knobs-it', cpu: 2, memory: '3Gi' }));
    const created = await createVmLikeKubeVirt(
      env.cp.kube,
      virtualMachine({
        name: 'vm1',
        namespace: ns,
        runStrategy: 'Always',
        instancetype: { name: 'rv-knobs-it' },
        templateSpec: { domain: { firmware: { uuid: '5d307ca9-b3ef-428c-8861-06e72d69f223' }, devices: { disks: [{ name: 'rootdisk', disk: { bus: 'virtio' } }], interfaces: [{ name: 'default', masquerade: {}, macAddress: '02:00:00:aa:bb:cc' }] } } },
      }),
      { style: 'spec-revision-name' },
    );
    await startVmLikeKubeVirt(env.cp.kube, created.vm);
    await veleroOk(env.velero, ['backup', 'create', 'rv-knobs-b', '--include-namespaces', ns, '--snapshot-volumes=false', '--wait']);
    expect(statusOf(await env.velero.waitForBackup('rv-knobs-b')).phase).toBe('Completed');
    await env.cp.kube.mergePatch(clusterItKey('rv-knobs-it'), { spec: { memory: { guest: '48Gi' } } });

    await veleroOk(env.velero, [
      'restore', 'create', 'rv-knobs-r', '--from-backup', 'rv-knobs-b', '--namespace-mappings', `${ns}:rv-knobs-dst`,
      '--labels', 'velero.kubevirt.io/expand-vms=true,velero.kubevirt.io/restore-run-strategy=Halted,velero.kubevirt.io/clear-mac-address=true,velero.kubevirt.io/generate-new-firmware-uuid=true',
      '--wait',
    ]);
    const restore = await env.velero.waitForRestore('rv-knobs-r');
    expect(statusOf(restore), await restoreDescribe(env.velero, 'rv-knobs-r')).toMatchObject({ phase: 'Completed' });
    expect(warningsOf(await restoreDescribe(env.velero, 'rv-knobs-r'))).toEqual([
      'could not restore, VirtualMachineClusterInstancetype:rv-knobs-it already exists. Warning: the in-cluster version is different than the backed-up version',
    ]);
    const vm = await env.cp.kube.get(vmKey('rv-knobs-dst', 'vm1'));
    const spec = vm?.['spec'] as JsonObject;
    expect(spec).not.toHaveProperty('instancetype');
    expect(spec['runStrategy']).toBe('Halted');
    const domain = ((spec['template'] as JsonObject)['spec'] as JsonObject)['domain'] as JsonObject;
    expect(domain['memory']).toEqual({ guest: '3Gi' }); // the original definition, not today's 48Gi
    expect(JSON.stringify(domain)).not.toContain('02:00:00:aa:bb:cc');
    expect((domain['firmware'] as JsonObject)['uuid']).toMatch(/^[0-9a-f-]{36}$/);
    expect((domain['firmware'] as JsonObject)['uuid']).not.toBe('5d307ca9-b3ef-428c-8861-06e72d69f223');
    // KubeVirt re-creates the VMI and launcher pod; they must not come back from the backup.
    expect(await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', namespace: 'rv-knobs-dst', name: 'vm1' })).toBeUndefined();
    expect(await env.cp.kube.list({ apiVersion: 'v1', kind: 'Pod', namespace: 'rv-knobs-dst' })).toEqual([]);
    expect(await restoreLogs(env.velero, 'rv-knobs-r')).toMatch(/VirtualMachine rv-knobs-dst\/vm1 expanded \(expand-vms is set\)/);
  });

  it('refuses a VM whose revision cannot come back under missing-revision-policy=fail, naming it', async () => {
    const ns = 'rv-fail';
    const created = await vmWithRevisions(ns, 'rv-fail-it');
    await veleroOk(env.velero, ['backup', 'create', 'rv-fail-b', '--include-namespaces', ns, '--exclude-resources', 'controllerrevisions.apps', '--snapshot-volumes=false', '--wait']);
    await veleroOk(env.velero, [
      'restore', 'create', 'rv-fail-r', '--from-backup', 'rv-fail-b', '--namespace-mappings', `${ns}:rv-fail-dst`,
      '--labels', 'velero.kubevirt.io/missing-revision-policy=fail', '--wait',
    ]);
    const restore = await env.velero.waitForRestore('rv-fail-r');
    expect(statusOf(restore).phase).toBe('PartiallyFailed');
    const describe = await env.velero.velero(['restore', 'describe', 'rv-fail-r', '--details']);
    expect(describe.stdout).toContain(
      `VirtualMachine rv-fail-dst/vm1 cannot be restored: its instancetype revision ${created.instancetypeRevision?.metadata.name ?? ''} (VirtualMachineClusterInstancetype rv-fail-it)`,
    );
  });

  it('defaults from the plugin ConfigMap (missing-revision-policy=expand): a VM whose revisions were excluded comes back expanded from its copies', async () => {
    const cmKey = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'velero', name: 'kubevirt-velero-plugin-restore' };
    await env.cp.kube.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: cmKey.name, namespace: 'velero', labels: { 'velero.io/plugin-config': '', 'kubevirt-velero-plugin/restore-vm-action': 'RestoreItemActionV2' } },
      data: { 'missing-revision-policy': 'expand' },
    });
    try {
      const ns = 'rv-cm';
      await vmWithRevisions(ns, 'rv-cm-it');
      await veleroOk(env.velero, ['backup', 'create', 'rv-cm-b', '--include-namespaces', ns, '--exclude-resources', 'controllerrevisions.apps', '--snapshot-volumes=false', '--wait']);
      await env.cp.kube.mergePatch(clusterItKey('rv-cm-it'), { spec: { cpu: { guest: 12 } } });
      await veleroOk(env.velero, ['restore', 'create', 'rv-cm-r', '--from-backup', 'rv-cm-b', '--namespace-mappings', `${ns}:rv-cm-dst`, '--wait']);
      expect(statusOf(await env.velero.waitForRestore('rv-cm-r'))).toMatchObject({ phase: 'Completed' });
      const vm = await env.cp.kube.get(vmKey('rv-cm-dst', 'vm1'));
      const spec = vm?.['spec'] as JsonObject;
      expect(spec).not.toHaveProperty('instancetype');
      expect(spec).not.toHaveProperty('preference');
      const domain = ((spec['template'] as JsonObject)['spec'] as JsonObject)['domain'] as JsonObject;
      expect(domain['cpu']).toMatchObject({ sockets: 2 }); // the original 2 CPUs, not today's 12
      expect(domain['memory']).toEqual({ guest: '2Gi' });
      expect(await env.cp.kube.list({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: 'rv-cm-dst' })).toEqual([]);
      expect(await restoreLogs(env.velero, 'rv-cm-r')).toMatch(/missing-revision-policy=expand, expand-vms=false \(defaults from velero\/kubevirt-velero-plugin-restore/);
    } finally {
      await env.cp.kube.delete(cmKey);
    }
  });
});

describe('backup made without this plugin', () => {
  it('a KubeVirt >= 1.5 VM comes back pinned to its original revision (from the backed-up status), owned by the new VM', async () => {
    const ns = 'rv-noplugin';
    const created = await vmWithRevisions(ns, 'rv-np-it');
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    // Velero with only the AWS plugin takes the backup...
    const plain = await startVelero(env.cp, { pluginDir: await makePluginDir({ ours: false }) });
    const saved = mkdtempSync(join(tmpdir(), 'kvp-e2e-saved-backup-'));
    try {
      const res = await plain.velero(['backup', 'create', 'rv-np-b', '--include-namespaces', ns, '--snapshot-volumes=false', '--wait']);
      expect(res.code, res.stderr).toBe(0);
      expect(statusOf(await plain.waitForBackup('rv-np-b')).phase).toBe('Completed');
      const vmInBackup = plain.readBackupTarball('rv-np-b').get(`resources/virtualmachines.kubevirt.io/namespaces/${ns}/vm1.json`) as KubeObject;
      expect((vmInBackup['spec'] as JsonObject)['instancetype']).not.toHaveProperty('revisionName');
      cpSync(join(plain.bucketDir, 'backups', 'rv-np-b'), join(saved, 'rv-np-b'), { recursive: true });
    } finally {
      await plain.stop();
    }
    // ...and a Velero with this plugin restores it (same Backup object, its files in the new store).
    await env.cp.kube.mergePatch(clusterItKey('rv-np-it'), { spec: { cpu: { guest: 32 } } });
    const velero = await startVelero(env.cp, { pluginDir: await makePluginDir() });
    await veleroDeployment();
    try {
      cpSync(join(saved, 'rv-np-b'), join(velero.bucketDir, 'backups', 'rv-np-b'), { recursive: true });
      const res = await velero.velero(['restore', 'create', 'rv-np-r', '--from-backup', 'rv-np-b', '--namespace-mappings', `${ns}:rv-np-dst`, '--wait']);
      expect(res.code, res.stderr).toBe(0);
      const restore = await velero.waitForRestore('rv-np-r');
      expect(statusOf(restore), JSON.stringify(restore['status'])).toMatchObject({ phase: 'Completed' });
      expect(warningsOf(await restoreDescribe(velero, 'rv-np-r'))).toEqual([]);
      const vm = await env.cp.kube.get(vmKey('rv-np-dst', 'vm1'));
      expect(vm?.['spec']).toMatchObject({ instancetype: { revisionName: itRev } });
      const rev = await env.cp.kube.get(revisionKey('rv-np-dst', itRev));
      expect(rev?.['data']).toEqual(created.instancetypeRevision?.['data']);
      expectOwnedBy(rev, vm);
    } finally {
      await velero.stop();
      rmSync(saved, { recursive: true, force: true });
    }
  });
});
