// restore-vm-action against a REAL kube-apiserver and garbage collector, through the plugin's own
// KubeClient: revisions created in the target namespace of a namespace mapping, 409 on a name taken
// meanwhile, owner references accepted by the API server (merge patch guarded by resourceVersion), and
// revisions garbage-collected with their restored VM. The VM goes through the real backup action first,
// so the restore reads exactly what a backup holds.
//
// Velero's part (restoring additional items, creating the VM with its restore labels, polling Progress)
// is played step by step here, in Velero's order (pkg/restore/restore.go); the same scenarios through a
// real Velero server are in e2e/restore-velero.test.ts.
import { KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackupVirtualMachineAction } from '../src/actions/backup-virtualmachine-action.ts';
import { RestoreVmAction } from '../src/actions/restore-vm-action.ts';
import { KubeClient } from '../src/kube/client.ts';
import { preparedByVelero as preparedItem, recordingLogger as recordingLog } from '../test/actions/restore-test-kit.ts';
import type { Backup, JsonObject, KubeObject, Restore } from '../src/velero/types.ts';
import { useControlPlane } from './harness/setup.ts';
import { waitFor } from './harness/process.ts';
import {
  createNamespace,
  createVmLikeKubeVirt,
  INSTANCETYPE_API_VERSION,
  instancetype,
  preference,
  virtualMachine,
} from './fixtures/kubevirt.ts';

const env = useControlPlane({ controllerManager: true });
let kube: KubeClient;

beforeAll(() => {
  const kc = new KubeConfig();
  kc.loadFromFile(env.cp.kubeconfigPath);
  kube = new KubeClient({ kubeConfig: kc });
});

const backup: Backup = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b1', namespace: 'velero', uid: 'backup-uid-1' }, spec: {} };

function restoreOf(name: string, spec: Restore['spec'] = {}, labels: Record<string, string> = {}): Restore {
  return { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name, namespace: 'velero', uid: `uid-${name}`, labels }, spec: { backupName: 'b1', ...spec } };
}

const revisionKey = (namespace: string, name: string) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace, name });

/** A VM made the KubeVirt way in `ns`, then passed through the real backup action: what the backup holds. */
async function backedUpVm(ns: string, itName: string, style: 'status-refs' | 'spec-revision-name' = 'status-refs') {
  await createNamespace(env.cp.kube, ns);
  await env.cp.kube.create(instancetype({ name: itName, cpu: 1, memory: '2Gi' }));
  await env.cp.kube.create(preference({ name: 'fedora', namespace: ns }));
  const created = await createVmLikeKubeVirt(
    env.cp.kube,
    virtualMachine({ name: 'vm1', namespace: ns, instancetype: { name: itName }, preference: { name: 'fedora', kind: 'virtualmachinepreference' } }),
    { style },
  );
  const live = await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: 'vm1' });
  const stored = await new BackupVirtualMachineAction(kube).execute({ item: live as KubeObject, backup, log: recordingLog() });
  return { stored: stored.item, created };
}

/** Velero creating the VM after the action: in the target namespace, with its restore labels. */
async function veleroCreatesVm(item: KubeObject, restore: Restore, targetNamespace: string): Promise<KubeObject> {
  const vm = structuredClone(item);
  vm.metadata.namespace = targetNamespace;
  vm.metadata.labels = { ...vm.metadata.labels, 'velero.io/restore-name': restore.metadata.name ?? '', 'velero.io/backup-name': 'b1' };
  return kube.create(vm);
}

describe('restore-vm-action on a real API server', () => {
  it('revisions excluded from the backup, instance type changed since, --namespace-mappings: re-created exactly, owned, collected with the VM', async () => {
    const { stored, created } = await backedUpVm('rs-src', 'it-excluded');
    const original = created.instancetypeRevision as KubeObject;
    // The instance type changes after the backup; the restore must still give the VM the original.
    await env.cp.kube.mergePatch({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineClusterInstancetype', name: 'it-excluded' }, { spec: { cpu: { guest: 8 } } });
    await createNamespace(env.cp.kube, 'rs-dst');
    const restore = restoreOf('r-excluded', { namespaceMapping: { 'rs-src': 'rs-dst' } });
    const action = new RestoreVmAction({ kube, veleroNamespace: undefined });
    const log = recordingLog();

    const out = await action.execute({ item: preparedItem(stored), itemFromBackup: stored, restore, log });
    expect(out.waitForAdditionalItems).toBe(true);
    expect(out.additionalItems).toContainEqual({ group: 'apps', resource: 'controllerrevisions', namespace: 'rs-src', name: original.metadata.name });
    // Velero finds no revision in the backup (excluded by a resource filter) and asks whether we are ready.
    expect(await action.areAdditionalItemsReady([], restore, log)).toBe(true);

    for (const rev of [created.instancetypeRevision, created.preferenceRevision] as KubeObject[]) {
      const restored = await kube.get(revisionKey('rs-dst', rev.metadata.name ?? ''));
      expect(restored?.['data']).toEqual(rev['data']);
      expect(restored?.metadata.labels).toEqual(rev.metadata.labels);
      expect(restored?.metadata.ownerReferences).toBeUndefined();
    }
    expect(((await kube.get(revisionKey('rs-dst', original.metadata.name ?? '')))?.['data'] as JsonObject)['spec']).toEqual({ cpu: { guest: 1 }, memory: { guest: '2Gi' } });

    const vm = await veleroCreatesVm(out.item, restore, 'rs-dst');
    expect(vm['spec']).toMatchObject({ instancetype: { revisionName: original.metadata.name }, preference: { revisionName: created.preferenceRevision?.metadata.name } });
    expect(vm.metadata.annotations?.['velero.kubevirt.io/revision-copies']).toBeUndefined();

    const progress = await action.progress(out.operationId ?? '', restore, log);
    expect(progress).toMatchObject({ completed: true, err: '', nCompleted: 2, nTotal: 2 });
    const owned = await kube.get(revisionKey('rs-dst', original.metadata.name ?? ''));
    expect(owned?.metadata.ownerReferences).toEqual([
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm1', uid: vm.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);

    // No orphans: deleting the restored VM deletes its revisions (real garbage collector).
    await env.cp.kube.delete({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'rs-dst', name: 'vm1' });
    await waitFor(
      'revisions garbage-collected with the VM',
      async () => ((await kube.list({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: 'rs-dst' })).length === 0 ? true : undefined),
      { timeoutMs: 60_000 },
    );
    expect(log.lines.filter((l) => l.fields['outcome'] !== undefined).map((l) => l.fields['outcome'])).toEqual(['recreate-from-copy', 'recreate-from-copy', 'owned', 'owned']);
  });

  it('backup made without this plugin (KubeVirt >= 1.5 VM, revisions restored first): pinned from the status, restored, owned', async () => {
    const ns = 'rs-plain';
    await createNamespace(env.cp.kube, ns);
    await env.cp.kube.create(instancetype({ name: 'it-plain', cpu: 3, memory: '3Gi' }));
    const created = await createVmLikeKubeVirt(env.cp.kube, virtualMachine({ name: 'vm1', namespace: ns, instancetype: { name: 'it-plain' } }));
    // What any backup holds of the VM: spec without revisionName, status with the reference.
    const stored = (await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: 'vm1' })) as KubeObject;
    expect((stored['spec'] as JsonObject)['instancetype']).not.toHaveProperty('revisionName');
    const name = created.instancetypeRevision?.metadata.name ?? '';
    await createNamespace(env.cp.kube, 'rs-plain-dst');
    const restore = restoreOf('r-plain', { namespaceMapping: { [ns]: 'rs-plain-dst' } });
    // Velero restores controllerrevisions.apps before virtualmachines.kubevirt.io, labelled with the restore.
    const revision = structuredClone(created.instancetypeRevision as KubeObject);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'ownerReferences', 'managedFields']) delete revision.metadata[k];
    revision.metadata.namespace = 'rs-plain-dst';
    revision.metadata.labels = { ...revision.metadata.labels, 'velero.io/restore-name': 'r-plain', 'velero.io/backup-name': 'b1' };
    await kube.create(revision);

    const action = new RestoreVmAction({ kube, veleroNamespace: undefined });
    const log = recordingLog();
    const out = await action.execute({ item: preparedItem(stored), itemFromBackup: stored, restore, log });
    expect(out.waitForAdditionalItems).toBeUndefined();
    expect(out.item['spec']).toMatchObject({ instancetype: { name: 'it-plain', revisionName: name } });
    const vm = await veleroCreatesVm(out.item, restore, 'rs-plain-dst');
    expect(await action.progress(out.operationId ?? '', restore, log)).toMatchObject({ completed: true, err: '', nCompleted: 1, nTotal: 1 });
    expect((await kube.get(revisionKey('rs-plain-dst', name)))?.metadata.ownerReferences?.[0]?.uid).toBe(vm.metadata.uid);
    expect(log.lines.filter((l) => l.fields['outcome'] !== undefined).map((l) => l.fields['outcome'])).toEqual(['restored', 'owned']);
  });

  it('a revision already in the target namespace with another definition: used as it is, with a warning', async () => {
    const { stored, created } = await backedUpVm('rs-there', 'it-there', 'spec-revision-name');
    const name = created.instancetypeRevision?.metadata.name ?? '';
    // Same namespace, VM deleted (revisions orphaned by hand), revision content replaced.
    await env.cp.kube.delete({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'rs-there', name: 'vm1' }, 'Orphan');
    await env.cp.kube.delete(revisionKey('rs-there', name));
    await waitFor('revision gone', async () => ((await kube.get(revisionKey('rs-there', name))) === undefined ? true : undefined), { timeoutMs: 30_000 });
    const other = structuredClone(created.instancetypeRevision as KubeObject);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'ownerReferences', 'managedFields']) delete other.metadata[k];
    ((other['data'] as JsonObject)['spec'] as JsonObject)['cpu'] = { guest: 4 };
    await kube.create(other);

    const restore = restoreOf('r-there');
    const action = new RestoreVmAction({ kube, veleroNamespace: undefined });
    const log = recordingLog();
    const out = await action.execute({ item: preparedItem(stored), itemFromBackup: stored, restore, log });
    expect(out.waitForAdditionalItems).toBeUndefined();
    expect(log.lines.find((l) => l.level === 'warn' && l.fields['revision'] === name)?.message).toMatch(/DIFFERS from the point-in-time copy/);
  });

  it('a revision in the target namespace controlled by another object: the API server refuses a second controller, it is left alone', async () => {
    const { stored, created } = await backedUpVm('rs-held', 'it-held');
    await createNamespace(env.cp.kube, 'rs-held-dst');
    const holder = await kube.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'holder', namespace: 'rs-held-dst' } });
    const held = { apiVersion: 'v1', kind: 'ConfigMap', name: 'holder', uid: holder.metadata.uid ?? '', controller: true };
    const names = [created.instancetypeRevision, created.preferenceRevision].map((r) => r?.metadata.name ?? '');
    for (const [i, original] of [created.instancetypeRevision, created.preferenceRevision].entries()) {
      const copy = structuredClone(original as KubeObject);
      for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'ownerReferences', 'managedFields']) delete copy.metadata[k];
      copy.metadata.namespace = 'rs-held-dst';
      // The instance type's revision is held by the ConfigMap; the preference's is an orphan.
      if (i === 0) copy.metadata.ownerReferences = [held];
      await kube.create(copy);
    }
    const restore = restoreOf('r-held', { namespaceMapping: { 'rs-held': 'rs-held-dst' } });
    const action = new RestoreVmAction({ kube, veleroNamespace: undefined });
    const log = recordingLog();
    const out = await action.execute({ item: preparedItem(stored), itemFromBackup: stored, restore, log });
    const vm = await veleroCreatesVm(out.item, restore, 'rs-held-dst');
    expect(await action.progress(out.operationId ?? '', restore, log)).toMatchObject({ completed: true, err: '', nCompleted: 2, nTotal: 2 });
    expect((await kube.get(revisionKey('rs-held-dst', names[0] ?? '')))?.metadata.ownerReferences).toEqual([held]);
    expect((await kube.get(revisionKey('rs-held-dst', names[1] ?? '')))?.metadata.ownerReferences).toEqual([
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm1', uid: vm.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toContain(
      `revision ${names[0] ?? ''} is controlled by ConfigMap holder, not by VirtualMachine rs-held-dst/vm1; left as it is`,
    );
  });

  it('a VM whose revision, copy and instance type are all gone is refused with every name in the error', async () => {
    const { stored, created } = await backedUpVm('rs-refuse', 'it-refuse');
    const withoutCopies = structuredClone(stored);
    delete withoutCopies.metadata.annotations?.['velero.kubevirt.io/revision-copies'];
    await env.cp.kube.delete({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineClusterInstancetype', name: 'it-refuse' });
    await createNamespace(env.cp.kube, 'rs-refuse-dst');
    const restore = restoreOf('r-refuse', { namespaceMapping: { 'rs-refuse': 'rs-refuse-dst' } });
    const action = new RestoreVmAction({ kube, veleroNamespace: undefined });
    await action.execute({ item: preparedItem(withoutCopies), itemFromBackup: withoutCopies, restore, log: recordingLog() });
    await expect(action.areAdditionalItemsReady([], restore, recordingLog())).rejects.toThrow(
      `VirtualMachine rs-refuse-dst/vm1 cannot be restored: its instancetype revision ${created.instancetypeRevision?.metadata.name ?? ''} (VirtualMachineClusterInstancetype it-refuse) is neither in the backup nor in namespace rs-refuse-dst`,
    );
  });

  it('reads its defaults from the plugin ConfigMap in Velero namespace', async () => {
    await createNamespace(env.cp.kube, 'velero');
    await env.cp.kube.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kv-restore', namespace: 'velero', labels: { 'velero.io/plugin-config': '', 'kubevirt-velero-plugin/restore-vm-action': 'RestoreItemActionV2' } },
      data: { 'missing-revision-policy': 'fail' },
    });
    const { stored } = await backedUpVm('rs-cm', 'it-cm');
    await createNamespace(env.cp.kube, 'rs-cm-dst');
    const restore = restoreOf('r-cm', { namespaceMapping: { 'rs-cm': 'rs-cm-dst' } });
    const action = new RestoreVmAction({ kube, veleroNamespace: 'velero' });
    const log = recordingLog();
    await action.execute({ item: preparedItem(stored), itemFromBackup: stored, restore, log });
    expect(log.lines.some((l) => /missing-revision-policy=fail, expand-vms=false \(defaults from velero\/kv-restore/.test(l.message))).toBe(true);
    await expect(action.areAdditionalItemsReady([], restore, log)).rejects.toThrow(/missing-revision policy is "fail"/);
  });
});

describe('cost of a restore on a real API server', () => {
  it('a plain restore of 40 VMs sharing an instance type and preference: API requests per VM and Execute latency', async () => {
    const ns = 'rs-many';
    const n = 40;
    await createNamespace(env.cp.kube, ns);
    await env.cp.kube.create(instancetype({ name: 'it-many', cpu: 1, memory: '1Gi' }));
    await env.cp.kube.create(preference({ name: 'pref-many' }));
    const backupAction = new BackupVirtualMachineAction(kube);
    const stored: KubeObject[] = [];
    const revisions: KubeObject[] = [];
    for (let i = 0; i < n; i++) {
      const created = await createVmLikeKubeVirt(
        env.cp.kube,
        virtualMachine({ name: `vm${i}`, namespace: ns, instancetype: { name: 'it-many' }, preference: { name: 'pref-many' } }),
      );
      revisions.push(created.instancetypeRevision as KubeObject, created.preferenceRevision as KubeObject);
      const live = (await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: `vm${i}` })) as KubeObject;
      stored.push((await backupAction.execute({ item: live, backup, log: recordingLog() })).item);
    }
    // Velero restores controllerrevisions.apps before virtualmachines.kubevirt.io.
    await createNamespace(env.cp.kube, 'rs-many-dst');
    for (const r of revisions) {
      const copy = structuredClone(r);
      for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'ownerReferences', 'managedFields']) delete copy.metadata[k];
      copy.metadata.namespace = 'rs-many-dst';
      copy.metadata.labels = { ...copy.metadata.labels, 'velero.io/restore-name': 'r-many', 'velero.io/backup-name': 'b1' };
      await kube.create(copy);
    }
    const restore = restoreOf('r-many', { namespaceMapping: { [ns]: 'rs-many-dst' } });
    const action = new RestoreVmAction({ kube, veleroNamespace: 'velero' });
    const log = recordingLog();

    const callsBefore = kube.counts.total;
    const started = performance.now();
    const outs = [];
    for (const item of stored) outs.push(await action.execute({ item: preparedItem(item), itemFromBackup: item, restore, log }));
    const executeMs = (performance.now() - started) / n;
    const executeCalls = (kube.counts.total - callsBefore) / n;
    for (const out of outs) await veleroCreatesVm(out.item, restore, 'rs-many-dst');
    const progressBefore = kube.counts.total;
    for (const out of outs) expect(await action.progress(out.operationId ?? '', restore, log)).toMatchObject({ completed: true, err: '', nCompleted: 2 });
    const progressCalls = (kube.counts.total - progressBefore) / n;

    process.stderr.write(
      `restore cost (${n} VMs, real kube-apiserver): execute ${executeMs.toFixed(1)} ms/VM, ` +
        `${executeCalls.toFixed(2)} API requests/VM; progress ${progressCalls.toFixed(2)} requests/VM\n`,
    );
    expect(outs.every((o) => o.waitForAdditionalItems === undefined)).toBe(true);
    // Revisions, instance type and preference through one LIST each per restore, Backup and ConfigMap once.
    expect(executeCalls).toBeLessThanOrEqual(0.2);
    // One LIST of the namespace's VMs per restore and one owner patch per revision (not read first).
    expect(progressCalls).toBeLessThanOrEqual(2.1);
  });
});
