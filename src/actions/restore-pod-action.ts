// kubevirt-velero-plugin/restore-pod-action: virt-launcher and hotplug-disk pods are never restored;
// KubeVirt creates them again for the restored VMIs (a restored launcher pod would run nothing).
import { isKubevirtPod, KUBEVIRT_POD_SELECTOR } from '../kubevirt/restore-items.ts';
import { keyOf } from '../kubevirt/restore-vm.ts';
import type { RestoreExecuteInput, RestoreExecuteOutput, RestoreItemAction } from '../velero/actions.ts';
import type { ResourceSelector } from '../velero/types.ts';

export class RestorePodAction implements RestoreItemAction {
  appliesTo(): ResourceSelector {
    return { includedResources: ['pods'], selector: KUBEVIRT_POD_SELECTOR };
  }

  execute({ item, log }: RestoreExecuteInput): Promise<RestoreExecuteOutput> {
    // Velero applies the selector; checking again keeps a wrongly routed pod from being dropped.
    if (!isKubevirtPod(item)) return Promise.resolve({ item });
    log.info(`pod ${keyOf(item)} is created by KubeVirt (${item.metadata.labels?.['kubevirt.io'] ?? ''}): not restored`);
    return Promise.resolve({ item, skipRestore: true });
  }
}
