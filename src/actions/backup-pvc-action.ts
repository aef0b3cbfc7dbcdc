// kubevirt-velero-plugin/backup-pvc-action (BackupItemAction v1): labels each PVC with its UID
// (velero.kubevirt.io/pvc-uid) so that a user can restore one disk with a label selector. A value the
// user had set on that label is kept in an annotation rather than lost.
import { PvcUidAnnotations, UserLabels } from '../kubevirt/constants.ts';
import { withPluginLabel } from '../kubevirt/plugin-labels.ts';
import type { BackupExecuteInput, BackupExecuteOutput, BackupItemAction } from '../velero/actions.ts';
import type { KubeObject, ResourceSelector } from '../velero/types.ts';

/** Sets the pvc-uid label; an earlier value of it is preserved under `originalAnnotation`. */
export function withPvcUidLabel(item: KubeObject, uid: string, originalAnnotation: string): KubeObject {
  return withPluginLabel(item, UserLabels.pvcUid, uid, originalAnnotation);
}

export class BackupPvcAction implements BackupItemAction {
  appliesTo(): ResourceSelector {
    return { includedResources: ['persistentvolumeclaims'] };
  }

  execute({ item }: BackupExecuteInput): Promise<BackupExecuteOutput> {
    const uid = item.metadata.uid;
    if (!uid) return Promise.resolve({ item });
    return Promise.resolve({ item: withPvcUidLabel(item, uid, PvcUidAnnotations.originalPvcUid) });
  }
}
