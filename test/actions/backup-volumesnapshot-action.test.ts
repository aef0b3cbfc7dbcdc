// The VolumeSnapshot backup action: the source PVC's UID as a label, read from the per-backup cache.
import { describe, expect, it } from 'vitest';
import { BackupVolumeSnapshotAction } from '../../src/actions/backup-volumesnapshot-action.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { backupWith, FixedCluster, recordingLogger, withScopes } from '../fixtures/scenarios.ts';

function snapshot(name: string, claim: string | undefined, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name, namespace: 'ns', ...(labels ? { labels } : {}) },
    spec: { source: claim ? { persistentVolumeClaimName: claim } : { volumeSnapshotContentName: 'content-1' } },
  };
}
const PVCS: KubeObject[] = Array.from({ length: 10 }, (_, i) => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: `disk-${i}`, namespace: 'ns', uid: `uid-${i}` },
}));

describe('backup-volumesnapshot-action', () => {
  it('labels snapshots with their PVC UID; ten snapshots cost one LIST', async () => {
    const cluster = new FixedCluster(PVCS);
    const action = new BackupVolumeSnapshotAction(withScopes(cluster));
    for (let i = 0; i < 10; i++) {
      const out = await action.execute({ item: snapshot(`snap-${i}`, `disk-${i}`), backup: backupWith(), log: recordingLogger() });
      expect(out.item.metadata.labels).toEqual({ 'velero.kubevirt.io/pvc-uid': `uid-${i}` });
    }
    expect(cluster.calls).toEqual({ get: 0, list: 1, create: 0, patch: 0 });
  });

  it("keeps a user's own earlier label value in an annotation", async () => {
    const out = await new BackupVolumeSnapshotAction(withScopes(new FixedCluster(PVCS))).execute({
      item: snapshot('s', 'disk-1', { 'velero.kubevirt.io/pvc-uid': 'mine' }),
      backup: backupWith(),
      log: recordingLogger(),
    });
    expect(out.item.metadata.annotations).toEqual({ 'velero.kubevirt.io/original-volumesnapshot-uid': 'mine' });
    expect(out.item.metadata.labels).toEqual({ 'velero.kubevirt.io/pvc-uid': 'uid-1' });
  });

  it('a snapshot that outlived its PVC is backed up unchanged, with a warning', async () => {
    const log = recordingLogger();
    const item = snapshot('s', 'gone');
    const out = await new BackupVolumeSnapshotAction(withScopes(new FixedCluster(PVCS))).execute({ item, backup: backupWith(), log });
    expect(out.item).toEqual(item);
    expect(log.lines.map((l) => l.message)).toEqual(['VolumeSnapshot ns/s: source PVC gone not found; no pvc-uid label added']);
  });

  it('a snapshot taken from a VolumeSnapshotContent: unchanged, no look-up', async () => {
    const cluster = new FixedCluster(PVCS);
    const item = snapshot('s', undefined);
    const out = await new BackupVolumeSnapshotAction(withScopes(cluster)).execute({ item, backup: backupWith(), log: recordingLogger() });
    expect(out.item).toEqual(item);
    expect(cluster.calls.list + cluster.calls.get).toBe(0);
  });
});
