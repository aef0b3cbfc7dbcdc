// kubevirt-velero-plugin/restore-controllerrevision-action: the ControllerRevision virt-controller writes
// when it starts a VM (revision-start-vm-<vmUID>-<generation>) is not restored — the restored VM has a
// new UID, so the copy would be an orphan nobody uses or deletes, and virt-controller writes a new one
// when the restored VM starts (KubeVirt's own VM restore does the same). Every other revision (the
// instance type and preference copies a VM is pinned to) passes through unchanged.
//
// Velero is asked to call us only for revisions without KubeVirt's instance type label: virt-controller
// writes start revisions without labels, and every instance type / preference revision carries
// instancetype.kubevirt.io/object-kind (read in KubeVirt v1.5-v1.9; a revision without it is still
// asked about). Velero checks the selector before the call (v1.14 and v1.18 alike), so the two
// revisions of each VM cost no gRPC call: 2,000 calls fewer for 1,000 VMs (BENCHMARKS.md).
import { RevisionLabels } from '../kubevirt/constants.ts';
import { isVmStartRevision, startRevisionVmName } from '../kubevirt/restore-items.ts';
import { keyOf } from '../kubevirt/restore-vm.ts';
import type { RestoreExecuteInput, RestoreExecuteOutput, RestoreItemAction } from '../velero/actions.ts';
import type { ResourceSelector } from '../velero/types.ts';

export class RestoreControllerRevisionAction implements RestoreItemAction {
  appliesTo(): ResourceSelector {
    return { includedResources: ['controllerrevisions.apps'], selector: `!${RevisionLabels.objectKind}` };
  }

  execute({ item, itemFromBackup, log }: RestoreExecuteInput): Promise<RestoreExecuteOutput> {
    // The backed-up item: Velero has already dropped the owner references from `item`.
    if (!isVmStartRevision(itemFromBackup)) return Promise.resolve({ item });
    log.info(
      `ControllerRevision ${keyOf(item)} is the start revision of VirtualMachine ${JSON.stringify(startRevisionVmName(itemFromBackup) ?? '')}: ` +
        'not restored, virt-controller writes a new one when the restored VM starts',
    );
    return Promise.resolve({ item, skipRestore: true });
  }
}
