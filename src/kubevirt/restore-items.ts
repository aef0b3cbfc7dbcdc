// Pure decisions for the restore actions other than the VM's: VirtualMachineInstances, launcher pods,
// ControllerRevisions, PVCs and VolumeSnapshots.
import type { KubeObject } from '../velero/types.ts';
import { CdiAnnotations, Kinds, UserLabels } from './constants.ts';
import { withoutPluginLabel } from './plugin-labels.ts';
import { cloneJson } from './restore-vm.ts';

/**
 * A VMI created by a VM is re-created by KubeVirt from the restored VM: restoring it too would race
 * KubeVirt. The backed-up item (not the one Velero prepared, which lost its ownerReferences) tells.
 * Backups made by the reference plugin mark such VMIs with an annotation instead; both count.
 */
export function vmiOwnedByVm(vmiFromBackup: KubeObject): boolean {
  if (vmiFromBackup.metadata.annotations?.[CdiAnnotations.veleroIsOwned] === 'true') return true;
  return (vmiFromBackup.metadata.ownerReferences ?? []).some(
    (ref) => ref.kind === Kinds.VirtualMachine && ref.apiVersion.startsWith('kubevirt.io/'),
  );
}

/**
 * Labels KubeVirt sets on a running VMI for the node and migration it ran with; KubeVirt's webhook
 * rejects a new VMI that carries them.
 */
export const RUNTIME_VMI_LABELS = [
  'kubevirt.io/created-by',
  'kubevirt.io/migrationJobUID',
  'kubevirt.io/nodeName',
  'kubevirt.io/migrationTargetNodeName',
  'kubevirt.io/schedulable',
  'kubevirt.io/install-strategy',
] as const;

export function withoutRuntimeLabels(vmi: KubeObject): { vmi: KubeObject; removed: string[] } {
  const labels = vmi.metadata.labels;
  const removed = RUNTIME_VMI_LABELS.filter((l) => labels !== undefined && l in labels);
  if (removed.length === 0) return { vmi, removed };
  const out = cloneJson(vmi);
  const kept = { ...labels };
  for (const l of removed) delete kept[l];
  out.metadata.labels = kept;
  return { vmi: out, removed };
}

/** Pods KubeVirt creates for a VMI (launcher, hotplug disks): never restored, KubeVirt re-creates them. */
export const KUBEVIRT_POD_SELECTOR = 'kubevirt.io in (virt-launcher, hotplug-disk)';

export function isKubevirtPod(pod: KubeObject): boolean {
  const value = pod.metadata.labels?.['kubevirt.io'];
  return value === 'virt-launcher' || value === 'hotplug-disk';
}

/**
 * The ControllerRevision virt-controller writes each time it starts a VM: `revision-start-vm-<vmUID>-
 * <generation>`, controller-owned by the VM, named by its VMI's status.virtualMachineRevisionName, and
 * deleted by virt-controller when the VM stops. Its name carries the VM's UID, which a restored VM never
 * has, so nothing would ever use or delete a restored copy (an orphan once the GC is gone from its owner
 * reference, or kept forever by its owner). KubeVirt's own VM restore (pkg/storage/snapshot/restore.go)
 * restores only the instance type / preference revisions; the restored VM gets a new start revision
 * from virt-controller when it starts. Recognised by name AND a VirtualMachine owner, so a user's
 * revision that only happens to share the prefix is still restored.
 */
export const VM_START_REVISION_PREFIX = 'revision-start-vm-';

export function isVmStartRevision(revisionFromBackup: KubeObject): boolean {
  if (!(revisionFromBackup.metadata.name ?? '').startsWith(VM_START_REVISION_PREFIX)) return false;
  return (revisionFromBackup.metadata.ownerReferences ?? []).some(
    (ref) => ref.kind === Kinds.VirtualMachine && ref.apiVersion.startsWith('kubevirt.io/'),
  );
}

/** The name of the VM that owned a start revision (for the log line), or undefined. */
export function startRevisionVmName(revisionFromBackup: KubeObject): string | undefined {
  return (revisionFromBackup.metadata.ownerReferences ?? []).find((ref) => ref.kind === Kinds.VirtualMachine)?.name;
}

/** A PVC backed up while its DataVolume was still importing: CDI will populate it again on restore. */
export function pvcInProgress(pvc: KubeObject): boolean {
  return pvc.metadata.annotations?.[CdiAnnotations.inProgress] !== undefined;
}

/**
 * The backup actions label PVCs and VolumeSnapshots with `velero.kubevirt.io/pvc-uid` so a user can
 * restore one disk by selector, keeping a user's own earlier value in an annotation. On restore the
 * plugin's label goes away again, or the user's value comes back.
 */
export function withOriginalPvcUid(obj: KubeObject, originalAnnotation: string): { item: KubeObject; change?: string } {
  return withoutPluginLabel(obj, UserLabels.pvcUid, originalAnnotation);
}
