// Read-only views of the VirtualMachine / VirtualMachineInstance fields the plugin depends on.
// Objects arrive as untyped JSON from Velero: every accessor tolerates missing or mistyped fields
// (a malformed VM must give a clear error or be skipped, never crash the process).
import type { KubeObject } from '../velero/types.ts';
import { Kinds } from './constants.ts';

export type Json = Record<string, unknown>;

export function asRecord(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Follows a path of object keys; undefined as soon as one step is not an object. */
export function at(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const record = asRecord(current);
    if (record === undefined) return undefined;
    current = record[key];
  }
  return current;
}

export function labelsOf(object: KubeObject | undefined): Record<string, string> {
  return asRecord(object?.metadata.labels) as Record<string, string> | undefined ?? {};
}

export function annotationsOf(object: KubeObject | undefined): Record<string, string> {
  return asRecord(object?.metadata.annotations) as Record<string, string> | undefined ?? {};
}

/** `velero.io/exclude-from-backup=true`: Velero leaves the object out whatever the filters say. */
export function isExcludedByLabel(object: KubeObject | undefined): boolean {
  return labelsOf(object)['velero.io/exclude-from-backup'] === 'true';
}

export function qualifiedName(object: KubeObject): string {
  const ns = object.metadata.namespace;
  return `${ns ? `${ns}/` : ''}${object.metadata.name ?? '<unnamed>'}`;
}

export type MatcherRole = 'instancetype' | 'preference';

/** A VM's spec.instancetype / spec.preference, with the revision KubeVirt recorded for it. */
export interface MatcherRef {
  role: MatcherRole;
  /** The instance type / preference name; undefined when only inferFromVolume is set. */
  name: string | undefined;
  /** The full kind, after KubeVirt's rules (empty = the cluster kind; plural and any case accepted). */
  kind: string | undefined;
  /** The kind as written, for messages when it is not one KubeVirt accepts. */
  writtenKind: string;
  clusterScoped: boolean;
  /** spec.*.revisionName (KubeVirt <= 1.4, or a pinned revision). */
  specRevisionName: string | undefined;
  /** status.*Ref.controllerRevisionRef.name (KubeVirt >= 1.5), when status describes this matcher. */
  statusRevisionName: string | undefined;
  /**
   * A status revision recorded for another object name (the user changed the matcher and KubeVirt
   * has not caught up): KubeVirt ignores it, and so does the plugin.
   */
  staleStatusRevisionName: string | undefined;
}

const MATCHER_KINDS: Record<MatcherRole, { namespaced: string; cluster: string }> = {
  instancetype: { namespaced: Kinds.Instancetype, cluster: Kinds.ClusterInstancetype },
  preference: { namespaced: Kinds.Preference, cluster: Kinds.ClusterPreference },
};

/** KubeVirt compares the kind lower-cased and accepts the plural too; empty means the cluster kind. */
function normaliseKind(role: MatcherRole, written: string): { kind: string | undefined; clusterScoped: boolean } {
  const kinds = MATCHER_KINDS[role];
  const lower = written.toLowerCase();
  if (lower === '' || lower === kinds.cluster.toLowerCase() || lower === `${kinds.cluster.toLowerCase()}s`) {
    return { kind: kinds.cluster, clusterScoped: true };
  }
  if (lower === kinds.namespaced.toLowerCase() || lower === `${kinds.namespaced.toLowerCase()}s`) {
    return { kind: kinds.namespaced, clusterScoped: false };
  }
  return { kind: undefined, clusterScoped: false };
}

export function matcherOf(vm: KubeObject, role: MatcherRole): MatcherRef | undefined {
  const spec = asRecord(at(vm, 'spec', role));
  if (spec === undefined) return undefined;
  const writtenKind = typeof spec['kind'] === 'string' ? spec['kind'] : '';
  const { kind, clusterScoped } = normaliseKind(role, writtenKind);
  const statusRef = role === 'instancetype' ? 'instancetypeRef' : 'preferenceRef';
  const name = asString(spec['name']);
  const statusName = asString(at(vm, 'status', statusRef, 'name'));
  const statusRevision = asString(at(vm, 'status', statusRef, 'controllerRevisionRef', 'name'));
  const stale = statusName !== undefined && name !== undefined && statusName !== name;
  return {
    role,
    name,
    kind,
    writtenKind,
    clusterScoped,
    specRevisionName: asString(spec['revisionName']),
    statusRevisionName: stale ? undefined : statusRevision,
    staleStatusRevisionName: stale ? statusRevision : undefined,
  };
}

/** The revision KubeVirt uses for this matcher: status first (>= 1.5), else the spec's. */
export function effectiveRevisionName(matcher: MatcherRef): string | undefined {
  return matcher.statusRevisionName ?? matcher.specRevisionName;
}

export function matchersOf(vm: KubeObject): MatcherRef[] {
  return (['instancetype', 'preference'] as const)
    .map((role) => matcherOf(vm, role))
    .filter((m): m is MatcherRef => m !== undefined);
}

/** What a volume (or access credential) of a VMI spec points at, in the VM's namespace. */
export interface VolumeRef {
  kind: 'DataVolume' | 'PersistentVolumeClaim' | 'MemoryDump' | 'ConfigMap' | 'Secret' | 'ServiceAccount';
  name: string;
  /** The volume's name in the spec (empty for access credentials). */
  volume: string;
}

/** The object references of spec.volumes[] (a VMI spec: the VM's spec.template.spec or a VMI's spec). */
export function volumeRefs(vmiSpec: unknown): VolumeRef[] {
  const refs: VolumeRef[] = [];
  for (const entry of asArray(at(vmiSpec, 'volumes'))) {
    const volume = asRecord(entry);
    if (volume === undefined) continue;
    const volumeName = asString(volume['name']) ?? '';
    const push = (kind: VolumeRef['kind'], name: unknown): void => {
      const n = asString(name);
      if (n !== undefined) refs.push({ kind, name: n, volume: volumeName });
    };
    if (volume['dataVolume'] !== undefined) push('DataVolume', at(volume, 'dataVolume', 'name'));
    else if (volume['persistentVolumeClaim'] !== undefined) push('PersistentVolumeClaim', at(volume, 'persistentVolumeClaim', 'claimName'));
    // An ephemeral volume is a copy-on-write overlay on a PVC: the VM cannot start without it.
    else if (volume['ephemeral'] !== undefined) push('PersistentVolumeClaim', at(volume, 'ephemeral', 'persistentVolumeClaim', 'claimName'));
    else if (volume['sysprep'] !== undefined) {
      push('ConfigMap', at(volume, 'sysprep', 'configMap', 'name'));
      push('Secret', at(volume, 'sysprep', 'secret', 'name'));
    } else if (volume['containerDisk'] !== undefined) push('Secret', at(volume, 'containerDisk', 'imagePullSecret'));
    else if (volume['memoryDump'] !== undefined) push('MemoryDump', at(volume, 'memoryDump', 'claimName'));
    else if (volume['configMap'] !== undefined) push('ConfigMap', at(volume, 'configMap', 'name'));
    else if (volume['secret'] !== undefined) push('Secret', at(volume, 'secret', 'secretName'));
    else if (volume['serviceAccount'] !== undefined) push('ServiceAccount', at(volume, 'serviceAccount', 'serviceAccountName'));
    else {
      for (const source of ['cloudInitNoCloud', 'cloudInitConfigDrive']) {
        if (volume[source] === undefined) continue;
        push('Secret', at(volume, source, 'userDataSecretRef', 'name'));
        push('Secret', at(volume, source, 'networkDataSecretRef', 'name'));
      }
    }
  }
  return refs;
}

/** Secrets named by spec.accessCredentials[] (SSH keys, user passwords). */
export function accessCredentialSecrets(vmiSpec: unknown): string[] {
  const names: string[] = [];
  for (const entry of asArray(at(vmiSpec, 'accessCredentials'))) {
    for (const kind of ['sshPublicKey', 'userPassword']) {
      const name = asString(at(entry, kind, 'source', 'secret', 'secretName'));
      if (name !== undefined) names.push(name);
    }
  }
  return names;
}

/** Persistent TPM or persistent EFI: KubeVirt keeps their state in a backend-storage PVC. */
export function needsBackendStorage(vmiSpec: unknown): boolean {
  return (
    at(vmiSpec, 'domain', 'devices', 'tpm', 'persistent') === true ||
    at(vmiSpec, 'domain', 'firmware', 'bootloader', 'efi', 'persistent') === true
  );
}

export function vmTemplateSpec(vm: KubeObject): unknown {
  return at(vm, 'spec', 'template', 'spec');
}

/** Names of spec.dataVolumeTemplates[]: KubeVirt re-creates these DataVolumes itself. */
export function dataVolumeTemplateNames(vm: KubeObject): Set<string> {
  const names = new Set<string>();
  for (const t of asArray(at(vm, 'spec', 'dataVolumeTemplates'))) {
    const name = asString(at(t, 'metadata', 'name'));
    if (name !== undefined) names.add(name);
  }
  return names;
}

/** Starting or Running: a VM whose disks are in use, so a consistent backup needs its VMI and pod. */
export function isVmRunning(vm: KubeObject): boolean {
  const status = at(vm, 'status', 'printableStatus');
  return status === 'Starting' || status === 'Running';
}

export function vmHasVmi(vm: KubeObject): boolean {
  return at(vm, 'status', 'created') === true;
}

export function isVmiPaused(vmi: KubeObject): boolean {
  return asArray(at(vmi, 'status', 'conditions')).some(
    (c) => at(c, 'type') === 'Paused' && at(c, 'status') === 'True',
  );
}

export function isOwned(object: KubeObject): boolean {
  return Array.isArray(object.metadata.ownerReferences) && object.metadata.ownerReferences.length > 0;
}

/**
 * The virt-launcher pod running a VMI, among the namespace's launcher pods: annotated with the VMI's
 * name. When several match (a migration in progress, an old pod not yet removed) the running one wins.
 */
export function launcherPodOf(vmiName: string, launcherPods: readonly KubeObject[]): KubeObject | undefined {
  const matching = launcherPods.filter((p) => annotationsOf(p)['kubevirt.io/domain'] === vmiName);
  return matching.find((p) => at(p, 'status', 'phase') === 'Running') ?? matching[0];
}

export function dataVolumePhase(dv: KubeObject | undefined): string | undefined {
  return asString(at(dv, 'status', 'phase'));
}
