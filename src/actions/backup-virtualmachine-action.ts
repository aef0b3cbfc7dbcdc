// kubevirt-velero-plugin/backup-virtualmachine-action (BackupItemAction v1): a VirtualMachine goes
// into the backup with everything it needs to come back as it was - instance type, preference and
// their ControllerRevisions, VMI and launcher pod, disks and the secrets/config maps it mounts - and
// carries the revision names and point-in-time revision copies itself. A VM that could not be
// restored from this backup is refused with the reason.
import { PluginError } from '../host/errors.ts';
import type { KubeApi } from '../kube/api.ts';
import { resourceByPlural } from '../kube/resources.ts';
import type { World } from '../kubevirt/backup-graph.ts';
import { listedByVelero, revisionBackedUpWithVm } from '../kubevirt/backup-listed.ts';
import { checkVmBackup } from '../kubevirt/backup-checks.ts';
import { MUST_INCLUDE_ADDITIONAL_ITEMS, ReturnedItems } from '../kubevirt/backup-returned.ts';
import { selfDescribingVm } from '../kubevirt/backup-vm-item.ts';
import type { BackupExecuteInput, BackupExecuteOutput, BackupItemAction } from '../velero/actions.ts';
import type { Backup, ResourceIdentifier, ResourceSelector } from '../velero/types.ts';
import { warnAll } from './backup-common.ts';
import { dropOldest } from '../shared/bounded.ts';
import { readVmForBackup } from './backup-world.ts';

/** The item is one the graph looked up, and Velero's own listing of the backup holds it. */
function inVelerosListing(id: ResourceIdentifier, world: World, backup: Backup): boolean {
  const resource = resourceByPlural(id.group, id.resource);
  const object = resource === undefined ? undefined : world.get(resource.kind, id.name);
  return resource !== undefined && object !== undefined && object !== null && listedByVelero(object, resource, backup);
}

/** Backups whose returned items are remembered: a plugin process normally serves one. */
const REMEMBERED_BACKUPS = 4;

export class BackupVirtualMachineAction implements BackupItemAction {
  /** Per backup UID: what earlier VMs of the backup already handed to Velero. */
  private readonly returned = new Map<string, ReturnedItems>();

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
    const mustInclude = item.metadata.annotations?.[MUST_INCLUDE_ADDITIONAL_ITEMS] === 'true';
    const stored = selfDescribingVm(item, world, (revision) => revisionBackedUpWithVm(revision, graph.items, backup, mustInclude));
    warnAll(log, stored.warnings);
    // What Velero backs up anyway (its own listing) or was given by an earlier VM is not returned again.
    const notListed = graph.items.filter((id) => !inVelerosListing(id, world, backup));
    const returned = this.returnedIn(backup.metadata.uid ?? backup.metadata.name ?? '');
    const additionalItems = returned.notYetReturned(notListed, mustInclude);
    log.info(`${who}: backing up with ${graph.items.length} related items`, {
      revisionCopies: stored.copies.map((c) => c.name).join(',') || 'none',
      revisionsInBackup: stored.copies.filter((c) => c.inBackup === true).map((c) => c.name).join(',') || 'none',
      ...(notListed.length < graph.items.length ? { inVelerosOwnListing: graph.items.length - notListed.length } : {}),
      ...(additionalItems.length < notListed.length ? { alreadyReturnedByAnotherVm: notListed.length - additionalItems.length } : {}),
    });
    returned.record(additionalItems, mustInclude);
    return { item: stored.vm, additionalItems };
  }

  private returnedIn(backupId: string): ReturnedItems {
    let found = this.returned.get(backupId);
    if (found === undefined) {
      found = new ReturnedItems();
      this.returned.set(backupId, found);
      dropOldest(this.returned, REMEMBERED_BACKUPS);
    }
    return found;
  }
}
