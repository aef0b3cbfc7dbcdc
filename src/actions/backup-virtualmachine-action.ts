// kubevirt-velero-plugin/backup-virtualmachine-action (BackupItemAction v1): a VirtualMachine goes
// into the backup with everything it needs to come back as it was - instance type, preference and
// their ControllerRevisions, VMI and launcher pod, disks and the secrets/config maps it mounts - and
// carries the revision names and point-in-time revision copies itself. A VM that could not be
// restored from this backup is refused with the reason.
import { PluginError } from '../host/errors.ts';
import type { KubeApi } from '../kube/api.ts';
import { checkVmBackup } from '../kubevirt/backup-checks.ts';
import { selfDescribingVm } from '../kubevirt/backup-vm-item.ts';
import type { BackupExecuteInput, BackupExecuteOutput, BackupItemAction } from '../velero/actions.ts';
import type { ResourceSelector } from '../velero/types.ts';
import { warnAll } from './backup-common.ts';
import { readVmForBackup } from './backup-world.ts';

export class BackupVirtualMachineAction implements BackupItemAction {
  constructor(private readonly kube: KubeApi) {}

  appliesTo(): ResourceSelector {
    // Fully qualified: other projects also define a kind "VirtualMachine".
    return { includedResources: ['virtualmachines.kubevirt.io'] };
  }

  async execute({ item, backup, log }: BackupExecuteInput): Promise<BackupExecuteOutput> {
    // The same graph the item block action gave Velero for this VM (see readVmForBackup).
    const { who, world, graph } = await readVmForBackup(this.kube, item, backup);

    const check = checkVmBackup(item, backup, world);
    warnAll(log, check.warnings);
    if (check.error !== undefined) throw new PluginError(check.error);

    warnAll(log, graph.warnings);
    const stored = selfDescribingVm(item, world);
    warnAll(log, stored.warnings);
    log.info(`${who}: backing up with ${graph.items.length} related items`, {
      revisionCopies: stored.copies.map((c) => c.name).join(',') || 'none',
    });
    return { item: stored.vm, additionalItems: graph.items };
  }
}
