// kubevirt-velero-plugin/restore-volumesnapshot-action: takes off the pvc-uid label the backup added to
// a VolumeSnapshot (or puts back the user's own value), like the PVC action does for claims.
import { PvcUidAnnotations } from '../kubevirt/constants.ts';
import { withOriginalPvcUid } from '../kubevirt/restore-items.ts';
import { keyOf } from '../kubevirt/restore-vm.ts';
import type { RestoreExecuteInput, RestoreExecuteOutput, RestoreItemAction } from '../velero/actions.ts';
import type { ResourceSelector } from '../velero/types.ts';

export class RestoreVolumeSnapshotAction implements RestoreItemAction {
  appliesTo(): ResourceSelector {
    return { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] };
  }

  execute({ item, log }: RestoreExecuteInput): Promise<RestoreExecuteOutput> {
    const { item: out, change } = withOriginalPvcUid(item, PvcUidAnnotations.originalVolumeSnapshotUid);
    if (change !== undefined) log.info(`VolumeSnapshot ${keyOf(item)}: ${change}`);
    return Promise.resolve({ item: out });
  }
}
