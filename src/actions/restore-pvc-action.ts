// kubevirt-velero-plugin/restore-pvc-action: a PVC whose DataVolume was still being populated at backup
// is skipped (CDI populates it again from the restored DataVolume; restoring the half-filled claim
// would conflict), and the pvc-uid label added at backup is taken off again.
import { PvcUidAnnotations } from '../kubevirt/constants.ts';
import { pvcInProgress, withOriginalPvcUid } from '../kubevirt/restore-items.ts';
import { keyOf } from '../kubevirt/restore-vm.ts';
import type { RestoreExecuteInput, RestoreExecuteOutput, RestoreItemAction } from '../velero/actions.ts';
import type { ResourceSelector } from '../velero/types.ts';

export class RestorePvcAction implements RestoreItemAction {
  appliesTo(): ResourceSelector {
    return { includedResources: ['persistentvolumeclaims'] };
  }

  execute({ item, log }: RestoreExecuteInput): Promise<RestoreExecuteOutput> {
    if (pvcInProgress(item)) {
      log.info(`PVC ${keyOf(item)} belonged to a DataVolume still in progress at backup: not restored, CDI re-populates it`);
      return Promise.resolve({ item, skipRestore: true });
    }
    const { item: out, change } = withOriginalPvcUid(item, PvcUidAnnotations.originalPvcUid);
    if (change !== undefined) log.info(`PVC ${keyOf(item)}: ${change}`);
    return Promise.resolve({ item: out });
  }
}
