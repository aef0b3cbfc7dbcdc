// kubevirt-velero-plugin/restore-vmi-action: a VMI created by a VM is left to KubeVirt (it re-creates it
// from the restored VM); a standalone VMI is restored without the node/run-specific labels KubeVirt
// would reject, with the MAC / firmware-UUID restore options applied to the item that is actually
// created (the reference plugin computed them on a copy and returned the unchanged item).
import { randomUUID } from 'node:crypto';
import { instanceKnobs } from '../config.ts';
import { vmiWithMappedNetworks } from '../kubevirt/networks.ts';
import { instanceSpecItems } from '../kubevirt/restore-graph.ts';
import { vmiOwnedByVm, withoutRuntimeLabels } from '../kubevirt/restore-items.ts';
import { applyInstanceKnobs, cloneJson, jsonObjectAt, keyOf, RestoreError } from '../kubevirt/restore-vm.ts';
import type { RestoreExecuteInput, RestoreExecuteOutput, RestoreItemAction } from '../velero/actions.ts';
import type { ResourceSelector } from '../velero/types.ts';

export class RestoreVmiAction implements RestoreItemAction {
  constructor(private readonly newUuid: () => string = randomUUID) {}

  appliesTo(): ResourceSelector {
    return { includedResources: ['virtualmachineinstances.kubevirt.io'] };
  }

  execute({ item, itemFromBackup, restore, log }: RestoreExecuteInput): Promise<RestoreExecuteOutput> {
    if (vmiOwnedByVm(itemFromBackup)) {
      log.info(`VirtualMachineInstance ${keyOf(item)} belongs to a VirtualMachine: not restored, KubeVirt re-creates it`);
      return Promise.resolve({ item, skipRestore: true });
    }
    const { vmi: unlabelled, removed } = withoutRuntimeLabels(item);
    const vmi = cloneJson(unlabelled);
    if (removed.length > 0) log.info(`removed node/run-specific labels: ${removed.join(', ')}`);
    // A VMI has no run strategy: a bad restore-run-strategy label is the VM action's to report.
    const knobs = instanceKnobs(restore);
    const spec = jsonObjectAt(vmi, 'spec');
    if (spec === undefined) throw new RestoreError(`VirtualMachineInstance ${keyOf(item)} has no spec`);
    const changes = applyInstanceKnobs(spec, knobs, this.newUuid);
    if (changes.length > 0) log.info(`restore options applied: ${changes.join(', ')}`);
    // The additional items name the NADs as in the backup; the restored VMI names them as mapped.
    const additionalItems = instanceSpecItems(spec, item.metadata.namespace ?? '');
    const networks = vmiWithMappedNetworks(vmi, restore.spec?.namespaceMapping);
    if (networks.changes.length > 0) log.info(`Multus networks follow the namespace mapping: ${networks.changes.join(', ')}`);
    return Promise.resolve({ item: networks.vmi, additionalItems });
  }
}
