// kubevirt-velero-plugin/backup-datavolume-action (BackupItemAction v1), for DataVolumes and PVCs:
// marks what CDI must not import again after a restore.
// - A completed DataVolume gets cdi.kubevirt.io/storage.prePopulated and brings its PVC along.
// - A PVC owned by a DataVolume gets cdi.kubevirt.io/storage.populatedFor when the DataVolume has
//   completed, else the in-progress marker (its restore is left to CDI).
import { kubeForScope, type KubeApi } from '../kube/api.ts';
import { isKubeApiError } from '../kube/errors.ts';
import { lookupKey } from '../kubevirt/backup-graph.ts';
import { CdiAnnotations, Kinds, Resources } from '../kubevirt/constants.ts';
import { isValidObjectName as isValidName } from '../kube/errors.ts';
import { dataVolumePhase } from '../kubevirt/vm.ts';
import type { BackupExecuteInput, BackupExecuteOutput, BackupItemAction } from '../velero/actions.ts';
import type { KubeObject, ResourceSelector } from '../velero/types.ts';
import { namesOf } from './backup-common.ts';
import { PluginError } from '../host/errors.ts';

function withAnnotation(item: KubeObject, key: string, value: string): KubeObject {
  return { ...item, metadata: { ...item.metadata, annotations: { ...(item.metadata.annotations ?? {}), [key]: value } } };
}

export class BackupDataVolumeAction implements BackupItemAction {
  constructor(private readonly kube: KubeApi) {}

  appliesTo(): ResourceSelector {
    return { includedResources: ['persistentvolumeclaims', 'datavolumes.cdi.kubevirt.io'] };
  }

  async execute({ item, backup, log }: BackupExecuteInput): Promise<BackupExecuteOutput> {
    if (item.kind === Kinds.DataVolume) {
      const { namespace, name } = namesOf(item, 'DataVolume');
      if (dataVolumePhase(item) !== 'Succeeded') return { item };
      return {
        item: withAnnotation(item, CdiAnnotations.prePopulated, name),
        additionalItems: [{ group: '', resource: Resources.persistentvolumeclaims, namespace, name }],
      };
    }
    if (item.kind !== Kinds.PersistentVolumeClaim) return { item };
    const { namespace, name } = namesOf(item, 'PersistentVolumeClaim');
    const owner = (item.metadata.ownerReferences ?? []).find((ref) => ref.kind === Kinds.DataVolume);
    if (owner === undefined) return { item };
    if (!isValidName(owner.name)) {
      log.warn(`PVC ${namespace}/${name}: owner DataVolume name ${JSON.stringify(owner.name)} is invalid; no CDI marker added`);
      return { item };
    }
    const kube = kubeForScope(this.kube, backup.metadata.uid);
    let dv: KubeObject | undefined;
    try {
      dv = await kube.get(lookupKey(Kinds.DataVolume, owner.name, namespace));
    } catch (err) {
      throw new PluginError(
        `PVC ${namespace}/${name}: cannot read its DataVolume ${owner.name}: ${isKubeApiError(err) ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (dv === undefined) {
      log.warn(`PVC ${namespace}/${name}: its DataVolume ${owner.name} no longer exists; no CDI marker added`);
      return { item };
    }
    return dataVolumePhase(dv) === 'Succeeded'
      ? { item: withAnnotation(item, CdiAnnotations.populatedFor, owner.name) }
      : { item: withAnnotation(item, CdiAnnotations.inProgress, owner.name) };
  }
}
