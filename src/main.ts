// The plugin binary. Read it as the list of what the plugin offers: every action is registered under
// the reference plugin's name (kubevirt-velero-plugin/...) so that this binary is a drop-in
// replacement. The VM restore action is v2: it needs AreAdditionalItemsReady and Progress.
// First: V8 heap settings must apply before the other modules allocate (see the file).
import './host/heap-tuning.ts';
import { BackupDataVolumeAction } from './actions/backup-datavolume-action.ts';
import { BackupPvcAction } from './actions/backup-pvc-action.ts';
import { BackupVirtualMachineAction } from './actions/backup-virtualmachine-action.ts';
import { BackupVirtualMachineInstanceAction } from './actions/backup-virtualmachineinstance-action.ts';
import { BackupVolumeSnapshotAction } from './actions/backup-volumesnapshot-action.ts';
import { BlockVmAction } from './actions/block-vm-action.ts';
import { RestoreNadAction } from './actions/restore-nad-action.ts';
import { RestoreControllerRevisionAction } from './actions/restore-controllerrevision-action.ts';
import { RestorePodAction } from './actions/restore-pod-action.ts';
import { RestorePvcAction } from './actions/restore-pvc-action.ts';
import { RestoreVmAction } from './actions/restore-vm-action.ts';
import { RestoreVmiAction } from './actions/restore-vmi-action.ts';
import { RestoreVolumeSnapshotAction } from './actions/restore-volumesnapshot-action.ts';
import { runFromCommandLine } from './host/entry.ts';
import { runInstall } from './host/install.ts';
import { runInspect } from './inspect/cli.ts';
import { PluginHost } from './host/plugin-host.ts';
import { KubeClient } from './kube/client.ts';
import { ActionNames } from './kubevirt/constants.ts';

// One client per process, shared by every action; it connects on first use, so listing the plugins
// at Velero's start-up needs no cluster access.
const kube = new KubeClient();

const plugin = new PluginHost()
  .backupItemAction(ActionNames.backupVirtualMachine, () => new BackupVirtualMachineAction(kube))
  .backupItemAction(ActionNames.backupVirtualMachineInstance, () => new BackupVirtualMachineInstanceAction(kube))
  .backupItemAction(ActionNames.backupDataVolume, () => new BackupDataVolumeAction(kube))
  .backupItemAction(ActionNames.backupPvc, () => new BackupPvcAction())
  .backupItemAction(ActionNames.backupVolumeSnapshot, () => new BackupVolumeSnapshotAction(kube))
  .restoreItemActionV2(
    ActionNames.restoreVm,
    () => new RestoreVmAction({ kube, veleroNamespace: process.env['VELERO_NAMESPACE'] }),
  )
  .restoreItemAction(ActionNames.restoreVmi, () => new RestoreVmiAction())
  .restoreItemAction(ActionNames.restorePod, () => new RestorePodAction())
  .restoreItemAction(ActionNames.restorePvc, () => new RestorePvcAction())
  .restoreItemAction(ActionNames.restoreVolumeSnapshot, () => new RestoreVolumeSnapshotAction())
  .restoreItemAction(ActionNames.restoreNetworkAttachmentDefinition, () => new RestoreNadAction())
  // Listed only to Velero >= 1.15 (item blocks); same graph and cache as the VM backup action.
  .itemBlockAction(ActionNames.blockVm, () => new BlockVmAction(kube))
  .restoreItemAction(ActionNames.restoreControllerRevision, () => new RestoreControllerRevisionAction())
  .reportOnExit((log) => log.info('Kubernetes API requests made by this plugin process', { ...kube.counts, config: kube.configSource ?? 'not loaded' }));

runFromCommandLine(plugin, {
  install: runInstall,
  inspect: (args) => runInspect(args, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }),
});
