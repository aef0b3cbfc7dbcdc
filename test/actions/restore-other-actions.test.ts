// The VMI, pod, PVC and VolumeSnapshot restore actions (parity with the reference plugin, plus the
// VMI knobs actually reaching the restored item).
import { describe, expect, it } from 'vitest';
import { RestoreControllerRevisionAction } from '../../src/actions/restore-controllerrevision-action.ts';
import { RestorePodAction } from '../../src/actions/restore-pod-action.ts';
import { RestorePvcAction } from '../../src/actions/restore-pvc-action.ts';
import { RestoreVmiAction } from '../../src/actions/restore-vmi-action.ts';
import { RestoreVolumeSnapshotAction } from '../../src/actions/restore-volumesnapshot-action.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { preparedByVelero, recordingLogger, restoreObject } from './restore-test-kit.ts';

function vmi(metadata: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'vmi', namespace: 'src', uid: 'u', labels: { app: 'a', 'kubevirt.io/nodeName': 'n1' }, ...metadata },
    spec: {
      domain: { devices: { interfaces: [{ name: 'default', macAddress: '02:00:00:00:00:09' }] } },
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
    },
    status: { phase: 'Running' },
  };
}

describe('restore-vmi-action', () => {
  const action = new RestoreVmiAction(() => 'new-uuid');
  it('selects VMIs', () => expect(action.appliesTo()).toEqual({ includedResources: ['virtualmachineinstances.kubevirt.io'] }));

  it.each([
    ['owner reference to a VM (seen in the backed-up item only)', vmi({ ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: 'x', controller: true }] })],
    ["the reference plugin's isOwned annotation", vmi({ annotations: { 'cdi.kubevirt.io/velero.isOwned': 'true' } })],
  ])('skips a VMI owned by a VM: %s', async (_t, backedUp) => {
    const out = await action.execute({ item: preparedByVelero(backedUp), itemFromBackup: backedUp, restore: restoreObject('r'), log: recordingLogger() });
    expect(out.skipRestore).toBe(true);
  });

  it('restores a standalone VMI without runtime labels, with MAC cleared and a new firmware UUID in the RETURNED item', async () => {
    const backedUp = vmi();
    const restore = restoreObject('r', { labels: { 'velero.kubevirt.io/clear-mac-address': 'true', 'velero.kubevirt.io/generate-new-firmware-uuid': 'true' } });
    const out = await action.execute({ item: preparedByVelero(backedUp), itemFromBackup: backedUp, restore, log: recordingLogger() });
    expect(out.skipRestore).toBeUndefined();
    expect(out.item.metadata.labels).toEqual({ app: 'a' });
    expect(out.item['spec']).toEqual({
      domain: { devices: { interfaces: [{ name: 'default' }] }, firmware: { uuid: 'new-uuid' } },
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }],
    });
    expect(out.additionalItems).toEqual([{ group: '', resource: 'persistentvolumeclaims', namespace: 'src', name: 'data' }]);
  });

  it('maps namespace/name Multus network names of a standalone VMI and asks for its NADs as named in the backup', async () => {
    const backedUp = vmi();
    (backedUp['spec'] as Record<string, unknown>)['networks'] = [
      { name: 'default', pod: {} },
      { name: 'shared', multus: { networkName: 'infra/shared-vlan' } },
    ];
    const restore = restoreObject('r', { namespaceMapping: { src: 'dst', infra: 'infra-dst' } });
    const out = await action.execute({ item: preparedByVelero(backedUp), itemFromBackup: backedUp, restore, log: recordingLogger() });
    expect((out.item['spec'] as { networks: unknown[] }).networks).toEqual([
      { name: 'default', pod: {} },
      { name: 'shared', multus: { networkName: 'infra-dst/shared-vlan' } },
    ]);
    expect(out.additionalItems).toContainEqual({ group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', namespace: 'infra', name: 'shared-vlan' });
  });
});

describe('restore-pod-action', () => {
  const action = new RestorePodAction();
  const pod = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', labels } });
  it('asks Velero for KubeVirt pods only', () => {
    expect(action.appliesTo()).toEqual({ includedResources: ['pods'], selector: 'kubevirt.io in (virt-launcher, hotplug-disk)' });
  });
  it.each([
    [{ 'kubevirt.io': 'virt-launcher' }, true],
    [{ 'kubevirt.io': 'hotplug-disk' }, true],
    [{ app: 'web' }, undefined],
  ])('%j -> skipRestore %s', async (labels, skip) => {
    const item = pod(labels);
    const out = await action.execute({ item, itemFromBackup: item, restore: restoreObject('r'), log: recordingLogger() });
    expect(out.skipRestore).toBe(skip);
  });
});

describe('restore-controllerrevision-action', () => {
  const action = new RestoreControllerRevisionAction();
  const vmOwner = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm1', uid: 'vm-uid', controller: true, blockOwnerDeletion: true };
  const revision = (name: string, ownerReferences: KubeObject['metadata']['ownerReferences']): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name, namespace: 'ns', ...(ownerReferences === undefined ? {} : { ownerReferences }) },
    data: { spec: {} },
    revision: 0,
  });
  it('is asked about ControllerRevisions without the instance type label only (start revisions carry none)', () =>
    expect(action.appliesTo()).toEqual({ includedResources: ['controllerrevisions.apps'], selector: '!instancetype.kubevirt.io/object-kind' }));

  it('skips the start revision virt-controller wrote for a VM, and says which VM', async () => {
    const backedUp = revision('revision-start-vm-vm-uid-2', [vmOwner]);
    const log = recordingLogger();
    const out = await action.execute({ item: preparedByVelero(backedUp), itemFromBackup: backedUp, restore: restoreObject('r'), log });
    expect(out.skipRestore).toBe(true);
    expect(log.lines.map((l) => l.message).join('\n')).toMatch(/ns\/revision-start-vm-vm-uid-2 is the start revision of VirtualMachine "vm1": not restored/);
  });

  it.each([
    ['an instance type revision owned by the VM', revision('vm1-u1.small-v1beta1-it-uid-1', [vmOwner])],
    ['a start-revision name without a VM owner', revision('revision-start-vm-x-1', undefined)],
    ['a start-revision name owned by something else', revision('revision-start-vm-x-1', [{ ...vmOwner, apiVersion: 'apps/v1', kind: 'StatefulSet' }])],
  ])('restores %s unchanged', async (_t, backedUp) => {
    const item = preparedByVelero(backedUp);
    const out = await action.execute({ item, itemFromBackup: backedUp, restore: restoreObject('r'), log: recordingLogger() });
    expect(out).toEqual({ item });
  });
});

describe('restore-pvc-action and restore-volumesnapshot-action', () => {
  const pvc = (metadata: Partial<KubeObject['metadata']>): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'ns', ...metadata } });

  it('skips the PVC of a DataVolume in progress at backup', async () => {
    const item = pvc({ annotations: { 'kvp.kubevirt.io/storage.inprogress': 'dv' } });
    const out = await new RestorePvcAction().execute({ item, itemFromBackup: item, restore: restoreObject('r'), log: recordingLogger() });
    expect(out.skipRestore).toBe(true);
  });

  it('PVC: removes the plugin label or puts back the original value', async () => {
    const action = new RestorePvcAction();
    const added = pvc({ labels: { 'velero.kubevirt.io/pvc-uid': 'uid-1' } });
    expect((await action.execute({ item: added, itemFromBackup: added, restore: restoreObject('r'), log: recordingLogger() })).item.metadata.labels).toEqual({});
    const kept = pvc({ labels: { 'velero.kubevirt.io/pvc-uid': 'uid-1' }, annotations: { 'velero.kubevirt.io/original-pvc-uid': 'users' } });
    const out = await action.execute({ item: kept, itemFromBackup: kept, restore: restoreObject('r'), log: recordingLogger() });
    expect(out.item.metadata).toEqual({ name: 'c', namespace: 'ns', labels: { 'velero.kubevirt.io/pvc-uid': 'users' } });
  });

  it('VolumeSnapshot: its own original-value annotation', async () => {
    const action = new RestoreVolumeSnapshotAction();
    expect(action.appliesTo()).toEqual({ includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] });
    const item: KubeObject = {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 's', namespace: 'ns', labels: { 'velero.kubevirt.io/pvc-uid': 'x' }, annotations: { 'velero.kubevirt.io/original-volumesnapshot-uid': 'orig' } },
    };
    const out = await action.execute({ item, itemFromBackup: item, restore: restoreObject('r'), log: recordingLogger() });
    expect(out.item.metadata.labels).toEqual({ 'velero.kubevirt.io/pvc-uid': 'orig' });
    expect(out.item.metadata.annotations).toBeUndefined();
  });
});
