// Pure changes to a VirtualMachine (or a standalone VirtualMachineInstance) on its way back into a
// cluster: which instance type / preference revisions it references, the established restore knobs
// (run strategy, MAC addresses, firmware UUID), and removing what only the backup needed.
import { isJsonObject } from '../shared/json.ts';
import type { JsonObject, JsonValue, KubeObject } from '../velero/types.ts';
import { INSTANCETYPE_GROUP, Kinds, PluginAnnotations, PluginLabels } from './constants.ts';
import { nameLabelValue, withoutPluginLabel } from './plugin-labels.ts';
import type { RevisionRole } from './revision-copy.ts';

export class RestoreError extends Error {
  override name = 'RestoreError';
}

/** A deep copy of plain JSON; other values (bigint, lossless numbers) are immutable and shared. */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => cloneJson(v)) as T;
  if (isJsonObject(value)) {
    const copy: JsonObject = {};
    for (const [k, v] of Object.entries(value)) copy[k] = cloneJson(v);
    return copy as T;
  }
  return value;
}

// Object names end up in API paths: accept only what Kubernetes itself accepts (DNS-1123 subdomain).
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isObjectName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

export function isNamespaceName(name: string): boolean {
  return name.length > 0 && name.length <= 63 && DNS_LABEL.test(name);
}

/** "namespace/name" of an object, for messages. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns === undefined || ns === '' ? (obj.metadata.name ?? '?') : `${ns}/${obj.metadata.name ?? '?'}`;
}

/** One `spec.instancetype` / `spec.preference` reference, resolved to the object it names. */
export interface MatcherRef {
  role: RevisionRole;
  /** The instance type / preference object's name. */
  name: string;
  /** Its full kind (VirtualMachineClusterInstancetype...), from KubeVirt's accepted spellings. */
  kind: string;
  clusterScoped: boolean;
  /** The ControllerRevision the VM uses, when known. */
  revisionName?: string;
  /** `spec`: the VM pins it; `status`: only the backed-up status knew it (KubeVirt >= 1.5 without our backup). */
  revisionFrom?: 'spec' | 'status';
}

export const INSTANCETYPE_API_VERSION = `${INSTANCETYPE_GROUP}/v1beta1`;

// KubeVirt compares the matcher's kind in lower case against the singular and plural resource names;
// an empty kind means the cluster-scoped kind.
const KIND_SPELLINGS: Record<RevisionRole, { namespaced: string; cluster: string }> = {
  instancetype: { namespaced: Kinds.Instancetype, cluster: Kinds.ClusterInstancetype },
  preference: { namespaced: Kinds.Preference, cluster: Kinds.ClusterPreference },
};

function resolveKind(role: RevisionRole, kind: string): { kind: string; clusterScoped: boolean } | undefined {
  const spellings = KIND_SPELLINGS[role];
  const lower = kind.toLowerCase();
  if (lower === '' || lower === spellings.cluster.toLowerCase() || lower === `${spellings.cluster.toLowerCase()}s`) {
    return { kind: spellings.cluster, clusterScoped: true };
  }
  if (lower === spellings.namespaced.toLowerCase() || lower === `${spellings.namespaced.toLowerCase()}s`) {
    return { kind: spellings.namespaced, clusterScoped: false };
  }
  return undefined;
}

function objectAt(root: unknown, ...path: string[]): JsonObject | undefined {
  let current: unknown = root;
  for (const key of path) {
    if (!isJsonObject(current)) return undefined;
    current = current[key];
  }
  return isJsonObject(current) ? current : undefined;
}

function stringAt(root: unknown, ...path: string[]): string | undefined {
  const parent = objectAt(root, ...path.slice(0, -1));
  const value = parent?.[path[path.length - 1] as string];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const STATUS_REF: Record<RevisionRole, string> = { instancetype: 'instancetypeRef', preference: 'preferenceRef' };

/**
 * The instance type / preference references of a VM. `vmFromBackup` still has the status that Velero
 * removed from `vm`: for a KubeVirt >= 1.5 VM backed up without this plugin, the revision is only there.
 * Like KubeVirt, the status reference counts only while it names the same object as the spec.
 */
export function matchersOf(vm: KubeObject, vmFromBackup?: KubeObject): MatcherRef[] {
  const refs: MatcherRef[] = [];
  for (const role of ['instancetype', 'preference'] as const) {
    const matcher = objectAt(vm, 'spec', role);
    if (matcher === undefined) continue;
    const name = stringAt(matcher, 'name');
    if (name === undefined) continue; // inferFromVolume not yet resolved: nothing the plugin can look up
    const rawKind = typeof matcher['kind'] === 'string' ? matcher['kind'] : '';
    const resolved = resolveKind(role, rawKind);
    if (resolved === undefined) {
      throw new RestoreError(`VirtualMachine ${keyOf(vm)}: spec.${role}.kind "${rawKind}" is not a kind spec.${role} accepts`);
    }
    if (!isObjectName(name)) {
      throw new RestoreError(`VirtualMachine ${keyOf(vm)}: spec.${role}.name "${name}" is not a valid object name`);
    }
    const ref: MatcherRef = { role, name, ...resolved };
    const pinned = stringAt(matcher, 'revisionName');
    const statusRef = objectAt(vmFromBackup, 'status', STATUS_REF[role]);
    const fromStatus =
      statusRef !== undefined && stringAt(statusRef, 'name') === name
        ? stringAt(statusRef, 'controllerRevisionRef', 'name')
        : undefined;
    const revisionName = pinned ?? fromStatus;
    if (revisionName !== undefined) {
      if (!isObjectName(revisionName)) {
        throw new RestoreError(
          `VirtualMachine ${keyOf(vm)}: ${role} revision name "${revisionName}" is not a valid object name`,
        );
      }
      ref.revisionName = revisionName;
      ref.revisionFrom = pinned !== undefined ? 'spec' : 'status';
    }
    refs.push(ref);
  }
  return refs;
}

/**
 * Pins the revision in the VM's spec, as KubeVirt's own snapshot restore does: the restored VM then uses
 * exactly this revision instead of storing a new one from the (possibly changed) current object.
 */
export function pinRevisions(vm: KubeObject, matchers: readonly MatcherRef[]): KubeObject {
  const out = cloneJson(vm);
  for (const m of matchers) {
    const matcher = objectAt(out, 'spec', m.role);
    if (matcher !== undefined && m.revisionName !== undefined) matcher['revisionName'] = m.revisionName;
  }
  return out;
}

/** The VM without the annotation that carried the point-in-time revision copies. */
export function withoutRevisionCopies(vm: KubeObject): KubeObject {
  const annotations = vm.metadata.annotations;
  if (annotations === undefined || !(PluginAnnotations.revisionCopies in annotations)) return vm;
  const out = cloneJson(vm);
  const kept = { ...annotations };
  delete kept[PluginAnnotations.revisionCopies];
  if (Object.keys(kept).length === 0) delete out.metadata.annotations;
  else out.metadata.annotations = kept;
  return out;
}

/**
 * The VM without the label that named it in the backup (a user's own value of that label comes back).
 * Removed only when it holds the value the plugin writes, so a user's label in a backup made without
 * the plugin stays.
 */
export function withoutVmNameLabel(vm: KubeObject): KubeObject {
  const pluginValue = nameLabelValue(vm.metadata.name ?? '');
  return withoutPluginLabel(vm, PluginLabels.vmName, PluginAnnotations.originalVmLabel, pluginValue).item;
}

export interface InstanceKnobs {
  clearMacAddress: boolean;
  generateNewFirmwareUuid: boolean;
}

/**
 * Applies the MAC / firmware-UUID knobs to a VirtualMachineInstanceSpec in place (a VM's
 * spec.template.spec or a VMI's spec). Returns what was changed, for the log.
 */
export function applyInstanceKnobs(spec: JsonObject, knobs: InstanceKnobs, newUuid: () => string): string[] {
  const changes: string[] = [];
  if (knobs.clearMacAddress) {
    const interfaces = objectAt(spec, 'domain', 'devices')?.['interfaces'];
    let cleared = 0;
    if (Array.isArray(interfaces)) {
      for (const iface of interfaces) {
        if (isJsonObject(iface) && 'macAddress' in iface) {
          delete iface['macAddress'];
          cleared++;
        }
      }
    }
    changes.push(`cleared ${cleared} MAC address(es)`);
  }
  if (knobs.generateNewFirmwareUuid) {
    if (!isJsonObject(spec['domain'])) spec['domain'] = {};
    const domain = spec['domain'] as JsonObject;
    if (!isJsonObject(domain['firmware'])) domain['firmware'] = {};
    const uuid = newUuid();
    (domain['firmware'] as JsonObject)['uuid'] = uuid;
    changes.push(`new firmware UUID ${uuid}`);
  }
  return changes;
}

export interface VmKnobs extends InstanceKnobs {
  runStrategy?: string;
}

/** The VM with the restore knobs applied, and what changed. */
export function applyVmKnobs(vm: KubeObject, knobs: VmKnobs, newUuid: () => string): { vm: KubeObject; changes: string[] } {
  const out = cloneJson(vm);
  const changes: string[] = [];
  if (!isJsonObject(out['spec'])) out['spec'] = {};
  const spec = out['spec'] as JsonObject;
  if (knobs.runStrategy !== undefined) {
    spec['runStrategy'] = knobs.runStrategy;
    delete spec['running'];
    changes.push(`run strategy ${knobs.runStrategy}`);
  }
  if (knobs.clearMacAddress || knobs.generateNewFirmwareUuid) {
    const template = objectAt(spec, 'template');
    const instanceSpec = objectAt(template, 'spec');
    if (instanceSpec === undefined) {
      throw new RestoreError(`VirtualMachine ${keyOf(vm)} has no spec.template.spec`);
    }
    changes.push(...applyInstanceKnobs(instanceSpec, knobs, newUuid));
  }
  return { vm: out, changes };
}

/** Reads a JSON value's field as an object, for callers outside this module. */
export function jsonObjectAt(root: JsonValue | KubeObject | undefined, ...path: string[]): JsonObject | undefined {
  return objectAt(root, ...path);
}
