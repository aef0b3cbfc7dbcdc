// kubevirt-velero-plugin/block-vm-action (ItemBlockAction, Velero >= 1.15): puts a VirtualMachine's
// related items - VMI and virt-launcher pod when it runs, disks, secrets, config maps, instance type
// and preference objects and revisions, NADs - into the VM's item block. Velero runs the pod hooks of
// the pods in a block around backing the block up, so the launcher pod's virt-freezer pre/post hooks
// (set by KubeVirt) run for the VM even when only the VM was selected (`--selector`): a pod that
// reaches the backup only as an additional item belongs to no block and gets no hooks.
import type { KubeApi } from '../kube/api.ts';
import type { ItemBlockAction, RelatedItemsInput } from '../velero/actions.ts';
import type { ResourceIdentifier, ResourceSelector } from '../velero/types.ts';
import { readVmForBackup } from './backup-world.ts';

export class BlockVmAction implements ItemBlockAction {
  constructor(private readonly kube: KubeApi) {}

  appliesTo(): ResourceSelector {
    return { includedResources: ['virtualmachines.kubevirt.io'] };
  }

  async getRelatedItems({ item, backup }: RelatedItemsInput): Promise<ResourceIdentifier[]> {
    const { graph } = await readVmForBackup(this.kube, item, backup);
    // Nothing is logged here: the graph's warnings and its size are reported once, by the backup
    // action, which runs on the same VM with the same graph (a line here cost every VM a second one).
    return graph.items;
  }
}
