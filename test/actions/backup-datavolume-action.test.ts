// The DataVolume/PVC backup action: the CDI markers that keep CDI from importing a disk again after
// a restore.
import { describe, expect, it } from 'vitest';
import { BackupDataVolumeAction } from '../../src/actions/backup-datavolume-action.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { backupWith, FixedCluster, recordingLogger, withScopes } from '../fixtures/scenarios.ts';

function dv(phase: string): KubeObject {
  return { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: 'disk', namespace: 'ns' }, status: { phase } };
}
function pvcOwnedBy(owner: string | undefined): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'disk',
      namespace: 'ns',
      ...(owner ? { ownerReferences: [{ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', name: owner, uid: 'u', controller: true }] } : {}),
    },
  };
}

const CASES: { title: string; item: KubeObject; cluster: KubeObject[]; annotations: Record<string, string>; items: string[]; warning?: string }[] = [
  {
    title: 'completed DataVolume: marked pre-populated, its PVC goes along',
    item: dv('Succeeded'),
    cluster: [],
    annotations: { 'cdi.kubevirt.io/storage.prePopulated': 'disk' },
    items: ['persistentvolumeclaims ns/disk'],
  },
  { title: 'importing DataVolume: unchanged', item: dv('ImportInProgress'), cluster: [], annotations: {}, items: [] },
  {
    title: 'PVC of a completed DataVolume: marked populated for it',
    item: pvcOwnedBy('disk'),
    cluster: [dv('Succeeded')],
    annotations: { 'cdi.kubevirt.io/storage.populatedFor': 'disk' },
    items: [],
  },
  {
    title: 'PVC of an unfinished DataVolume: marked in progress',
    item: pvcOwnedBy('disk'),
    cluster: [dv('ImportInProgress')],
    annotations: { 'kvp.kubevirt.io/storage.inprogress': 'disk' },
    items: [],
  },
  { title: 'PVC not owned by a DataVolume: unchanged', item: pvcOwnedBy(undefined), cluster: [], annotations: {}, items: [] },
  {
    title: 'PVC whose DataVolume is gone: unchanged, with a warning',
    item: pvcOwnedBy('disk'),
    cluster: [],
    annotations: {},
    items: [],
    warning: 'PVC ns/disk: its DataVolume disk no longer exists; no CDI marker added',
  },
];

describe('backup-datavolume-action', () => {
  it('applies to PVCs and CDI DataVolumes', () => {
    expect(new BackupDataVolumeAction(new FixedCluster([])).appliesTo()).toEqual({
      includedResources: ['persistentvolumeclaims', 'datavolumes.cdi.kubevirt.io'],
    });
  });
  for (const c of CASES) {
    it(c.title, async () => {
      const log = recordingLogger();
      const out = await new BackupDataVolumeAction(withScopes(new FixedCluster(c.cluster))).execute({ item: c.item, backup: backupWith(), log });
      expect(out.item.metadata.annotations ?? {}).toEqual(c.annotations);
      expect((out.additionalItems ?? []).map((i) => `${i.resource} ${i.namespace}/${i.name}`)).toEqual(c.items);
      expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(c.warning ? [c.warning] : []);
    });
  }
});
