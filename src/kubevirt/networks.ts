// Multus secondary networks of a VM and their NetworkAttachmentDefinitions (NADs). A network
// `spec.template.spec.networks[].multus.networkName` is `name` (a NAD in the VM's namespace) or
// `namespace/name` (KubeVirt splits it at the "/" the same way). Without its NADs a restored VM's
// launcher pod cannot start, so they belong to the VM's graph.
//
// A NAD in ANOTHER namespace is a real dependency too, and it is named like any other related item:
// Velero itself applies the backup's namespace filter to related and additional items, so such a NAD
// is backed up exactly when the user backs up its namespace as well, and left where it is otherwise.
// The plugin never reads outside the VM's namespace to decide this.
//
// On restore with namespace mappings, two kinds of text name a namespace and must follow the mapping
// as the objects do: a VM's `namespace/name` network names, and a NAD's `spec.config` field
// `netAttachDefName` (`namespace/name`, used by CNI plugins that refer to their own NAD, e.g.
// OVN-Kubernetes) - at the top level as the reference plugin does, and in each entry of a conflist's
// `plugins`.
import { isJsonObject, parseJson, stringifyJson } from '../shared/json.ts';
import type { JsonObject, KubeObject, ResourceIdentifier } from '../velero/types.ts';
import { MULTUS_GROUP, Resources } from './constants.ts';
import { isNamespaceName, isObjectName } from './restore-vm.ts';
import { asRecord, asString, at } from './vm.ts';

export interface NadRef {
  /** The VM network's own name (spec.networks[].name). */
  network: string;
  /** networkName as written. */
  written: string;
  namespace: string;
  name: string;
}

export interface InvalidNadRef {
  network: string;
  written: string;
}

/** Splits a Multus networkName; undefined when it does not name a NAD validly. */
export function parseNetworkName(written: string, vmNamespace: string): { namespace: string; name: string } | undefined {
  const parts = written.split('/');
  const [namespace, name] = parts.length === 1 ? [vmNamespace, parts[0] ?? ''] : parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : ['', ''];
  return isNamespaceName(namespace) && isObjectName(name) ? { namespace, name } : undefined;
}

/** The NADs a VirtualMachineInstanceSpec's Multus networks name, and the names that are not valid. */
export function multusNetworks(vmiSpec: unknown, vmNamespace: string): { refs: NadRef[]; invalid: InvalidNadRef[] } {
  const refs: NadRef[] = [];
  const invalid: InvalidNadRef[] = [];
  const networks = at(vmiSpec, 'networks');
  for (const network of Array.isArray(networks) ? networks : []) {
    const written = at(network, 'multus', 'networkName');
    if (at(network, 'multus') === undefined) continue;
    const networkName = asString(at(network, 'name')) ?? '';
    const parsed = typeof written === 'string' ? parseNetworkName(written, vmNamespace) : undefined;
    if (parsed === undefined) invalid.push({ network: networkName, written: typeof written === 'string' ? written : JSON.stringify(written ?? null) });
    else refs.push({ network: networkName, written: written as string, ...parsed });
  }
  return { refs, invalid };
}

export function nadIdentifier(ref: Pick<NadRef, 'namespace' | 'name'>): ResourceIdentifier {
  return { group: MULTUS_GROUP, resource: Resources.networkAttachmentDefinitions, namespace: ref.namespace, name: ref.name };
}

type NamespaceMapping = Readonly<Record<string, string>> | undefined;

/** `ns/name` with a mapped `ns` -> `mapped/name`; anything else undefined (unchanged). */
export function mappedNadReference(reference: string, mapping: NamespaceMapping): string | undefined {
  const parts = reference.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  const mapped = mapping?.[parts[0]];
  return mapped !== undefined && mapped !== parts[0] ? `${mapped}/${parts[1]}` : undefined;
}

/**
 * The VM with its `namespace/name` Multus network names moved along the restore's namespace mapping
 * (bare names follow the VM into its new namespace by themselves), and what changed.
 */
export function vmWithMappedNetworks(vm: KubeObject, mapping: NamespaceMapping): { vm: KubeObject; changes: string[] } {
  const { object, changes } = withMappedNetworks(vm, ['spec', 'template', 'spec'], mapping);
  return { vm: object, changes };
}

/** The same for a standalone VirtualMachineInstance (networks in its own spec). */
export function vmiWithMappedNetworks(vmi: KubeObject, mapping: NamespaceMapping): { vmi: KubeObject; changes: string[] } {
  const { object, changes } = withMappedNetworks(vmi, ['spec'], mapping);
  return { vmi: object, changes };
}

/** `object` with the networks of the VMI spec at `specPath` mapped; the very same object when nothing changes. */
function withMappedNetworks(object: KubeObject, specPath: readonly string[], mapping: NamespaceMapping): { object: KubeObject; changes: string[] } {
  const networks = at(object, ...specPath, 'networks');
  if (!Array.isArray(networks) || mapping === undefined) return { object, changes: [] };
  const changes: string[] = [];
  const mappedNetworks = networks.map((network: unknown) => {
    const multus = asRecord(at(network, 'multus'));
    const written = multus?.['networkName'];
    const mapped = typeof written === 'string' ? mappedNadReference(written, mapping) : undefined;
    if (mapped === undefined) return network;
    changes.push(`network ${JSON.stringify(asString(at(network, 'name')) ?? '')}: ${written as string} -> ${mapped}`);
    return { ...(network as JsonObject), multus: { ...multus, networkName: mapped } };
  });
  if (changes.length === 0) return { object, changes };
  // Copy along the path only: everything beside it is shared with the input, which is not changed.
  const replaceAt = (node: unknown, path: readonly string[]): Record<string, unknown> => {
    const record = asRecord(node) ?? {};
    const [head, ...rest] = path;
    if (head === undefined) return { ...record, networks: mappedNetworks };
    return { ...record, [head]: replaceAt(record[head], rest) };
  };
  return { object: replaceAt(object, specPath) as KubeObject, changes };
}

export interface NadRewrite {
  nad: KubeObject;
  changes: string[];
  /** Set when spec.config could not be read: the NAD is then returned unchanged. */
  warning?: string;
}

const NAD_REFERENCE_KEY = 'netAttachDefName';

function mapReferenceIn(config: Record<string, unknown>, where: string, mapping: NamespaceMapping, changes: string[]): Record<string, unknown> {
  const reference = config[NAD_REFERENCE_KEY];
  const mapped = typeof reference === 'string' ? mappedNadReference(reference, mapping) : undefined;
  if (mapped === undefined) return config;
  changes.push(`${where}${NAD_REFERENCE_KEY}: ${reference as string} -> ${mapped}`);
  return { ...config, [NAD_REFERENCE_KEY]: mapped };
}

/**
 * A NAD whose spec.config refers to a NAD in a namespace the restore maps, with the reference mapped.
 * spec.config is CNI JSON text: numbers are kept exactly and keys in order; nothing else changes.
 * Text that is not a JSON object is left alone with a warning (Multus would reject it anyway).
 */
export function nadWithMappedConfig(nad: KubeObject, mapping: NamespaceMapping): NadRewrite {
  const config = at(nad, 'spec', 'config');
  if (typeof config !== 'string' || config === '' || mapping === undefined || Object.keys(mapping).length === 0) {
    return { nad, changes: [] };
  }
  let parsed: unknown;
  try {
    parsed = parseJson(config, 'spec.config');
  } catch (err) {
    return { nad, changes: [], warning: `spec.config is not valid JSON (${err instanceof Error ? err.message : String(err)}); restored unchanged` };
  }
  if (!isJsonObject(parsed)) return { nad, changes: [], warning: 'spec.config is not a JSON object; restored unchanged' };
  const changes: string[] = [];
  let rewritten: Record<string, unknown> = mapReferenceIn(parsed, '', mapping, changes);
  const plugins = rewritten['plugins'];
  if (Array.isArray(plugins)) {
    const mappedPlugins = plugins.map((plugin: unknown, i) => (isJsonObject(plugin) ? mapReferenceIn(plugin, `plugins[${i}].`, mapping, changes) : plugin));
    if (mappedPlugins.some((p, i) => p !== plugins[i])) rewritten = { ...rewritten, plugins: mappedPlugins };
  }
  if (changes.length === 0) return { nad, changes };
  const spec = asRecord(nad['spec']) ?? {};
  return { nad: { ...nad, spec: { ...spec, config: stringifyJson(rewritten) } } as KubeObject, changes };
}
