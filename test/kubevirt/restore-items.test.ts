// Decisions of the VMI, pod, PVC and VolumeSnapshot restore actions.
import { describe, expect, it } from 'vitest';
import {
  isKubevirtPod,
  pvcInProgress,
  vmiOwnedByVm,
  withOriginalPvcUid,
  withoutRuntimeLabels,
} from '../../src/kubevirt/restore-items.ts';
import type { KubeObject } from '../../src/velero/types.ts';

function obj(kind: string, metadata: KubeObject['metadata']): KubeObject {
  return { apiVersion: 'v1', kind, metadata: { name: 'x', namespace: 'ns', ...metadata } };
}

describe('VMI ownership (read from the backed-up item)', () => {
  it.each([
    ['controller VM owner reference', { ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: 'u', controller: true }] }, true],
    ["reference plugin's isOwned annotation", { annotations: { 'cdi.kubevirt.io/velero.isOwned': 'true' } }, true],
    ['standalone', {}, false],
    ['owned by something else', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'u' }] }, false],
  ] as [string, KubeObject['metadata'], boolean][])('%s -> %s', (_t, metadata, owned) => {
    expect(vmiOwnedByVm(obj('VirtualMachineInstance', metadata))).toBe(owned);
  });
});

describe('VMI runtime labels', () => {
  it('drops node/run labels and keeps the user labels', () => {
    const vmi = obj('VirtualMachineInstance', {
      labels: { app: 'web', 'kubevirt.io/nodeName': 'node1', 'kubevirt.io/created-by': 'uid', 'kubevirt.io/schedulable': 'true' },
    });
    const { vmi: out, removed } = withoutRuntimeLabels(vmi);
    expect(out.metadata.labels).toEqual({ app: 'web' });
    expect(removed).toEqual(['kubevirt.io/created-by', 'kubevirt.io/nodeName', 'kubevirt.io/schedulable']);
    expect(vmi.metadata.labels).toHaveProperty('kubevirt.io/nodeName');
  });
});

describe('KubeVirt pods', () => {
  it.each([
    ['virt-launcher', true],
    ['hotplug-disk', true],
    ['virt-handler', false],
    [undefined, false],
  ])('kubevirt.io=%s -> %s', (value, expected) => {
    expect(isKubevirtPod(obj('Pod', value === undefined ? {} : { labels: { 'kubevirt.io': value } }))).toBe(expected);
  });
});

describe('PVCs and VolumeSnapshots', () => {
  it('in-progress PVCs are recognised by the backup-time annotation', () => {
    expect(pvcInProgress(obj('PersistentVolumeClaim', { annotations: { 'kvp.kubevirt.io/storage.inprogress': 'dv' } }))).toBe(true);
    expect(pvcInProgress(obj('PersistentVolumeClaim', {}))).toBe(false);
  });

  const ann = 'velero.kubevirt.io/original-pvc-uid';
  it.each([
    {
      title: 'plugin label only: removed',
      metadata: { labels: { 'velero.kubevirt.io/pvc-uid': 'abc', app: 'x' } },
      expected: { labels: { app: 'x' } },
    },
    {
      title: "user's own value kept in the annotation: put back",
      metadata: { labels: { 'velero.kubevirt.io/pvc-uid': 'abc' }, annotations: { [ann]: 'mine', other: 'y' } },
      expected: { labels: { 'velero.kubevirt.io/pvc-uid': 'mine' }, annotations: { other: 'y' } },
    },
    { title: 'no label: untouched', metadata: { labels: { app: 'x' } }, expected: { labels: { app: 'x' } } },
  ])('$title', ({ metadata, expected }) => {
    const { item } = withOriginalPvcUid(obj('PersistentVolumeClaim', metadata), ann);
    expect(item.metadata).toEqual({ name: 'x', namespace: 'ns', ...expected });
  });
});
