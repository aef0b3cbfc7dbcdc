// kubevirt-velero-plugin/backup-volumesnapshot-action (BackupItemAction v1): labels a VolumeSnapshot
// with the UID of the PVC it was taken from (velero.kubevirt.io/pvc-uid), so that a disk and its
// snapshots can be restored together by selector. The PVC is read from the per-backup cache: one LIST
// of the namespace's PVCs serves every snapshot.
import { PluginError } from '../host/errors.ts';
import { kubeForScope, type KubeApi } from '../kube/api.ts';
import { isValidObjectName } from '../kube/errors.ts';
import { lookupKey } from '../kubevirt/backup-graph.ts';
import { Kinds, PvcUidAnnotations } from '../kubevirt/constants.ts';
import { asString, at } from '../kubevirt/vm.ts';
import type { BackupExecuteInput, BackupExecuteOutput, BackupItemAction } from '../velero/actions.ts';
import type { KubeObject, ResourceSelector } from '../velero/types.ts';
import { namesOf } from './backup-common.ts';
import { withPvcUidLabel } from './backup-pvc-action.ts';

export class BackupVolumeSnapshotAction implements BackupItemAction {
  constructor(private readonly kube: KubeApi) {}

  appliesTo(): ResourceSelector {
    return { includedResources: ['volumesnapshots.snapshot.storage.k8s.io'] };
  }

  async execute({ item, backup, log }: BackupExecuteInput): Promise<BackupExecuteOutput> {
    const { namespace, name } = namesOf(item, 'VolumeSnapshot');
    const claim = asString(at(item, 'spec', 'source', 'persistentVolumeClaimName'));
    if (claim === undefined) return { item };
    if (!isValidObjectName(claim)) {
      log.warn(`VolumeSnapshot ${namespace}/${name}: source PVC name ${JSON.stringify(claim)} is invalid; no pvc-uid label added`);
      return { item };
    }
    let pvc: KubeObject | undefined;
    try {
      pvc = await kubeForScope(this.kube, backup.metadata.uid).get(lookupKey(Kinds.PersistentVolumeClaim, claim, namespace));
    } catch (err) {
      throw new PluginError(`VolumeSnapshot ${namespace}/${name}: cannot read its source PVC ${claim}: ${String(err instanceof Error ? err.message : err)}`, {
        cause: err,
      });
    }
    // A snapshot often outlives its PVC: that is no reason to fail the backup.
    if (pvc?.metadata.uid === undefined) {
      log.warn(`VolumeSnapshot ${namespace}/${name}: source PVC ${claim} not found; no pvc-uid label added`);
      return { item };
    }
    return { item: withPvcUidLabel(item, pvc.metadata.uid, PvcUidAnnotations.originalVolumeSnapshotUid) };
  }
}
