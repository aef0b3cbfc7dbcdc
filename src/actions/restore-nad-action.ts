// kubevirt-velero-plugin/restore-networkattachmentdefinition-action (the reference plugin's name): a
// NetworkAttachmentDefinition restored with --namespace-mappings keeps pointing at itself / its peers:
// the `netAttachDefName` references in its spec.config that name a mapped namespace are mapped too
// (networks.ts). A spec.config that cannot be read is restored unchanged with a warning - the
// reference plugin failed the item instead.
import { nadWithMappedConfig } from '../kubevirt/networks.ts';
import { keyOf } from '../kubevirt/restore-vm.ts';
import type { RestoreExecuteInput, RestoreExecuteOutput, RestoreItemAction } from '../velero/actions.ts';
import type { ResourceSelector } from '../velero/types.ts';

export class RestoreNadAction implements RestoreItemAction {
  appliesTo(): ResourceSelector {
    return { includedResources: ['network-attachment-definitions.k8s.cni.cncf.io'] };
  }

  execute({ item, restore, log }: RestoreExecuteInput): Promise<RestoreExecuteOutput> {
    const rewrite = nadWithMappedConfig(item, restore.spec?.namespaceMapping);
    if (rewrite.warning !== undefined) log.warn(`NetworkAttachmentDefinition ${keyOf(item)}: ${rewrite.warning}`);
    if (rewrite.changes.length > 0) {
      log.info(`NetworkAttachmentDefinition ${keyOf(item)}: spec.config follows the namespace mapping: ${rewrite.changes.join(', ')}`);
    }
    return Promise.resolve({ item: rewrite.nad });
  }
}
