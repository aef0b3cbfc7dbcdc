// The PVC backup action: the pvc-uid label that lets a user restore one disk by selector.
import { describe, expect, it } from 'vitest';
import { BackupPvcAction } from '../../src/actions/backup-pvc-action.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { backupWith, recordingLogger } from '../fixtures/scenarios.ts';

function pvc(labels?: Record<string, string>, uid: string | undefined = 'c0ffee00-0000-4000-8000-000000000001'): KubeObject {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'disk', namespace: 'ns', ...(uid ? { uid } : {}), ...(labels ? { labels } : {}) } };
}

const CASES: { title: string; item: KubeObject; labels: Record<string, string> | undefined; annotations: Record<string, string> | undefined }[] = [
  {
    title: 'labelled with its UID',
    item: pvc({ app: 'db' }),
    labels: { app: 'db', 'velero.kubevirt.io/pvc-uid': 'c0ffee00-0000-4000-8000-000000000001' },
    annotations: undefined,
  },
  {
    title: "a user's own earlier value is kept in an annotation",
    item: pvc({ 'velero.kubevirt.io/pvc-uid': 'mine' }),
    labels: { 'velero.kubevirt.io/pvc-uid': 'c0ffee00-0000-4000-8000-000000000001' },
    annotations: { 'velero.kubevirt.io/original-pvc-uid': 'mine' },
  },
  { title: 'no UID (not from the API server): unchanged', item: pvc(undefined, ''), labels: undefined, annotations: undefined },
];

describe('backup-pvc-action', () => {
  for (const c of CASES) {
    it(c.title, async () => {
      const out = await new BackupPvcAction().execute({ item: c.item, backup: backupWith(), log: recordingLogger() });
      expect(out.item.metadata.labels).toEqual(c.labels);
      expect(out.item.metadata.annotations).toEqual(c.annotations);
    });
  }
});
