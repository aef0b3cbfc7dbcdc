// Every label, annotation and API name the plugin reads or writes, in one place.

export const KUBEVIRT_GROUP = 'kubevirt.io';
export const INSTANCETYPE_GROUP = 'instancetype.kubevirt.io';
export const CDI_GROUP = 'cdi.kubevirt.io';
/** Multus' NetworkAttachmentDefinitions (network-attachment-definitions.k8s.cni.cncf.io). */
export const MULTUS_GROUP = 'k8s.cni.cncf.io';

export const Kinds = {
  VirtualMachine: 'VirtualMachine',
  VirtualMachineInstance: 'VirtualMachineInstance',
  Instancetype: 'VirtualMachineInstancetype',
  ClusterInstancetype: 'VirtualMachineClusterInstancetype',
  Preference: 'VirtualMachinePreference',
  ClusterPreference: 'VirtualMachineClusterPreference',
  ControllerRevision: 'ControllerRevision',
  DataVolume: 'DataVolume',
  PersistentVolumeClaim: 'PersistentVolumeClaim',
  Pod: 'Pod',
} as const;

export const Resources = {
  virtualmachines: 'virtualmachines',
  virtualmachineinstances: 'virtualmachineinstances',
  instancetypes: 'virtualmachineinstancetypes',
  clusterInstancetypes: 'virtualmachineclusterinstancetypes',
  preferences: 'virtualmachinepreferences',
  clusterPreferences: 'virtualmachineclusterpreferences',
  controllerrevisions: 'controllerrevisions',
  datavolumes: 'datavolumes',
  persistentvolumeclaims: 'persistentvolumeclaims',
  pods: 'pods',
  secrets: 'secrets',
  configmaps: 'configmaps',
  serviceaccounts: 'serviceaccounts',
  volumesnapshots: 'volumesnapshots',
  networkAttachmentDefinitions: 'network-attachment-definitions',
} as const;

/** Labels KubeVirt puts on the ControllerRevisions that hold instance type / preference copies. */
export const RevisionLabels = {
  objectKind: 'instancetype.kubevirt.io/object-kind',
  objectName: 'instancetype.kubevirt.io/object-name',
  objectUid: 'instancetype.kubevirt.io/object-uid',
  objectGeneration: 'instancetype.kubevirt.io/object-generation',
  objectVersion: 'instancetype.kubevirt.io/object-version',
} as const;

/** Knobs users already rely on (reference plugin). */
export const UserLabels = {
  metadataBackup: 'velero.kubevirt.io/metadataBackup',
  restoreRunStrategy: 'velero.kubevirt.io/restore-run-strategy',
  clearMacAddress: 'velero.kubevirt.io/clear-mac-address',
  generateNewFirmwareUuid: 'velero.kubevirt.io/generate-new-firmware-uuid',
  pvcUid: 'velero.kubevirt.io/pvc-uid',
  excludeFromBackup: 'velero.io/exclude-from-backup',
} as const;

/** Labels the plugin writes on backed-up items (taken off again on restore). */
export const PluginLabels = {
  /**
   * On a backed-up VirtualMachine: its name (see nameLabelValue in plugin-labels.ts for names past 63
   * characters), so that `velero restore create --selector velero.kubevirt.io/vm=<name>` restores that VM.
   */
  vmName: 'velero.kubevirt.io/vm',
} as const;

/** Annotations the plugin writes on backed-up items. */
export const PluginAnnotations = {
  /** On a backed-up VirtualMachine: the user's own value of the vm label, put back on restore. */
  originalVmLabel: 'velero.kubevirt.io/original-vm',
  /**
   * On a backed-up VirtualMachine: the point-in-time copies of the ControllerRevisions it references
   * (see revision-copy.ts). Removed again on restore.
   */
  revisionCopies: 'velero.kubevirt.io/revision-copies',
} as const;

export const CdiAnnotations = {
  prePopulated: 'cdi.kubevirt.io/storage.prePopulated',
  populatedFor: 'cdi.kubevirt.io/storage.populatedFor',
  veleroIsOwned: 'cdi.kubevirt.io/velero.isOwned',
  /** On a backed-up PVC whose DataVolume had not finished: skipped on restore (reference plugin's name). */
  inProgress: 'kvp.kubevirt.io/storage.inprogress',
} as const;

/** Where KubeVirt marks the objects it creates for a VM. */
export const KubevirtMarkers = {
  /** Label on virt-launcher pods; value `virt-launcher`. */
  appLabel: 'kubevirt.io',
  launcherAppValue: 'virt-launcher',
  /** Annotation on a launcher pod: the name of the VMI it runs. */
  domainAnnotation: 'kubevirt.io/domain',
  /** Label on the backend-storage PVC of persistent TPM/EFI (>= 1.4); value: the VM name. */
  persistentStateFor: 'persistent-state-for',
  /** The older backend-storage PVC name prefix: `persistent-state-for-<vm>`. */
  persistentStatePrefix: 'persistent-state-for-',
} as const;

/** Annotations Velero itself reads on an item returned by a BackupItemAction. */
export const VeleroAnnotations = {
  /** Velero (newer releases) drops the returned item from the backup when present. */
  skipFromBackup: 'velero.io/skip-from-backup',
} as const;

/** Where the PVC / VolumeSnapshot backup actions keep a user's own earlier pvc-uid label value. */
export const PvcUidAnnotations = {
  originalPvcUid: 'velero.kubevirt.io/original-pvc-uid',
  originalVolumeSnapshotUid: 'velero.kubevirt.io/original-volumesnapshot-uid',
} as const;

/** The names the reference plugin registers; we register the same ones to be a drop-in replacement. */
export const ActionNames = {
  backupVirtualMachine: 'kubevirt-velero-plugin/backup-virtualmachine-action',
  backupVirtualMachineInstance: 'kubevirt-velero-plugin/backup-virtualmachineinstance-action',
  backupDataVolume: 'kubevirt-velero-plugin/backup-datavolume-action',
  backupPvc: 'kubevirt-velero-plugin/backup-pvc-action',
  backupVolumeSnapshot: 'kubevirt-velero-plugin/backup-volumesnapshot-action',
  restoreVm: 'kubevirt-velero-plugin/restore-vm-action',
  restoreVmi: 'kubevirt-velero-plugin/restore-vmi-action',
  restorePod: 'kubevirt-velero-plugin/restore-pod-action',
  restorePvc: 'kubevirt-velero-plugin/restore-pvc-action',
  restoreVolumeSnapshot: 'kubevirt-velero-plugin/restore-volumesnapshot-action',
  restoreNetworkAttachmentDefinition: 'kubevirt-velero-plugin/restore-networkattachmentdefinition-action',
  /** Velero >= 1.15 only (ItemBlockAction). */
  blockVm: 'kubevirt-velero-plugin/block-vm-action',
  /** Ours only (the reference plugin has none): drops virt-controller's VM start revisions. */
  restoreControllerRevision: 'kubevirt-velero-plugin/restore-controllerrevision-action',
} as const;
