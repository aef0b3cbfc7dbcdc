// Glue shared by the backup actions: input validation and warnings to the backup log.
import { PluginError } from '../host/errors.ts';
import { isValidObjectName } from '../kube/errors.ts';
import type { Logger } from '../velero/actions.ts';
import type { KubeObject } from '../velero/types.ts';

/**
 * The item's own namespace and name go into API paths and additional items: refuse an item whose
 * names Kubernetes itself would not accept.
 */
export function namesOf(item: KubeObject, what: string): { namespace: string; name: string } {
  const namespace = item.metadata.namespace ?? '';
  const name = item.metadata.name ?? '';
  if (!isValidObjectName(namespace) || namespace.length > 63 || !isValidObjectName(name)) {
    throw new PluginError(
      `${what} ${JSON.stringify(`${namespace}/${name}`)}: invalid namespace or name; the plugin cannot look up what it depends on`,
    );
  }
  return { namespace, name };
}

/** Warnings go to `velero backup logs`, one line each, with the item named in the text. */
export function warnAll(log: Logger, warnings: readonly string[]): void {
  for (const warning of warnings) log.warn(warning);
}
