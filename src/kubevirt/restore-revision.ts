// Which outcome each instance type / preference revision of a restored VM gets, and the revisions the
// plugin creates itself. Pure: the action gathers the facts (what is in the cluster, the copies embedded
// in the backed-up VM) and carries out the decision.
//
// The decision has two moments because Velero restores a VM's additional items only after the action's
// Execute has returned: at Execute the plugin knows what is already in the cluster, and only after the
// additional items were restored does it know whether the backup held the revision.
import { isJsonObject } from '../shared/json.ts';
import type { MissingRevisionPolicy } from '../config.ts';
import type { JsonObject, JsonValue, KubeObject } from '../velero/types.ts';
import { RevisionLabels } from './constants.ts';
import { nameLabelValue } from './plugin-labels.ts';
import type { RevisionCopy } from './revision-copy.ts';
import { cloneJson, type MatcherRef } from './restore-vm.ts';

export const VeleroLabels = {
  restoreName: 'velero.io/restore-name',
  backupName: 'velero.io/backup-name',
} as const;

/** Velero's label.GetValidName: names longer than 63 characters end in 6 hex digits of their SHA-256. */
export function veleroLabelValue(name: string): string {
  return nameLabelValue(name);
}

/** True when Velero created this object in the restore of that name (it labels everything it creates). */
export function createdByRestore(obj: KubeObject, restoreName: string): boolean {
  return obj.metadata.labels?.[VeleroLabels.restoreName] === veleroLabelValue(restoreName);
}

/** "VirtualMachineClusterInstancetype u1.medium", for messages. */
export function describeObject(m: MatcherRef): string {
  return `${m.kind} ${m.name}`;
}

/**
 * A deep copy with every object's keys in sorted order: the form in which the API server re-encodes a
 * ControllerRevision's `data` whenever the revision is patched. The API server keeps `data` as the bytes
 * it was created with and refuses any change to it ("field is immutable"); a strategic-merge or merge
 * patch of the revision (the owner reference the restore sets) re-encodes the whole object with Go's
 * sorted map keys, so `data` created in another key order counts as changed and the patch is refused
 * (HTTP 422). KubeVirt's real virt-controller writes `data` in Go struct-field order (apiVersion, kind,
 * metadata.name before metadata.uid...), which a copy keeps; found by re-owning a revision re-created
 * from such a copy next to the real controller. (JavaScript puts integer-like keys first whatever the
 * order; none occur in instance type or preference objects.)
 */
export function withSortedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => withSortedKeys(v)) as T;
  if (isJsonObject(value)) {
    const sorted: JsonObject = {};
    for (const [key, v] of Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) sorted[key] = withSortedKeys(v);
    return sorted as T;
  }
  return value;
}

/** A ControllerRevision re-created from the point-in-time copy: name, KubeVirt's labels and data as they were. */
export function revisionFromCopy(copy: RevisionCopy, namespace: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: copy.name, namespace, labels: { ...copy.labels } },
    data: withSortedKeys(copy.data),
    revision: 0,
  };
}

// KubeVirt stores the object minus these metadata fields (revision.CreateControllerRevision).
const DROPPED_METADATA = ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields'];

/**
 * A ControllerRevision built from the instance type / preference object as KubeVirt builds one (same
 * labels, same payload), but under the name the VM already references so that the reference holds.
 * It carries the object's CURRENT definition, which may differ from the one the VM was created with.
 */
export function revisionFromObject(revisionName: string, object: KubeObject, namespace: string): KubeObject {
  const data = cloneJson(object) as KubeObject;
  for (const key of DROPPED_METADATA) delete data.metadata[key];
  delete data['status'];
  const version = object.apiVersion.includes('/') ? object.apiVersion.split('/')[1] ?? '' : object.apiVersion;
  const generation = object.metadata.generation;
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName,
      namespace,
      labels: {
        [RevisionLabels.objectGeneration]: generation === undefined ? '0' : String(generation),
        [RevisionLabels.objectKind]: object.kind,
        [RevisionLabels.objectName]: object.metadata.name ?? '',
        [RevisionLabels.objectUid]: object.metadata.uid ?? '',
        [RevisionLabels.objectVersion]: version,
      },
    },
    data: withSortedKeys(data as unknown as JsonObject),
    revision: 0,
  };
}

/** Deep equality of JSON values as parsed by src/shared/json.ts (bigint and numbers compare by value). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    if (typeof a === 'number' && typeof b === 'number') return a === b;
    try {
      return BigInt(a) === BigInt(b); // BigInt() throws on a fraction: then they differ
    } catch {
      return false;
    }
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') return String(a) === String(b);
  return a === b;
}

/**
 * Whether two revision payloads define the same instance type / preference. Like KubeVirt's own
 * comparison, only the `spec` counts (metadata such as uid and generation legitimately differ).
 */
export function sameDefinition(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  const specA = isJsonObject(a) ? a['spec'] : undefined;
  const specB = isJsonObject(b) ? b['spec'] : undefined;
  return specA !== undefined && specB !== undefined && jsonEqual(specA, specB);
}

/** What the plugin knows about one referenced revision when it decides. */
export interface RevisionFacts {
  matcher: MatcherRef & { revisionName: string };
  /** The point-in-time copy embedded in the backed-up VM. */
  copy?: RevisionCopy;
  /** The revision of that name in the VM's target namespace. */
  inCluster?: KubeObject;
  /** The instance type / preference object in the target cluster. */
  objectInCluster?: KubeObject;
}

export type ExecuteDecision =
  /** Velero already restored it from the backup in this restore. */
  | { outcome: 'restored' }
  /** It existed before this restore; `differs` compares it with the point-in-time copy. */
  | { outcome: 'already-there'; differs: boolean }
  /** Not in the cluster yet: ask Velero for it from the backup, decide after the additional items. */
  | { outcome: 'pending' };

export function decideAtExecute(facts: RevisionFacts, restoreName: string): ExecuteDecision {
  const { inCluster, copy } = facts;
  if (inCluster === undefined) return { outcome: 'pending' };
  if (createdByRestore(inCluster, restoreName)) return { outcome: 'restored' };
  const differs = copy !== undefined && !sameDefinition(copy.data, inCluster['data'] as JsonValue | undefined);
  return { outcome: 'already-there', differs };
}

export type LateDecision =
  | { outcome: 'restored' }
  | { outcome: 'already-there'; differs: boolean }
  | { outcome: 'recreate-from-copy'; revision: KubeObject }
  | { outcome: 'recreate-from-object'; revision: KubeObject }
  | { outcome: 'refused'; message: string };

/**
 * After Velero restored the additional items: the revision is there (restored from the backup), or
 * the policy says how to re-create it, or the VM cannot be restored faithfully and is refused.
 */
export function decideAfterAdditionalItems(
  facts: RevisionFacts,
  policy: MissingRevisionPolicy,
  restoreName: string,
  vmKey: string,
  targetNamespace: string,
): LateDecision {
  const { matcher, copy, inCluster, objectInCluster } = facts;
  if (inCluster !== undefined) {
    if (createdByRestore(inCluster, restoreName)) return { outcome: 'restored' };
    const differs = copy !== undefined && !sameDefinition(copy.data, inCluster['data'] as JsonValue | undefined);
    return { outcome: 'already-there', differs };
  }
  const missing =
    `VirtualMachine ${vmKey} cannot be restored: its ${matcher.role} revision ${matcher.revisionName} ` +
    `(${describeObject(matcher)}) is neither in the backup nor in namespace ${targetNamespace}`;
  if (policy === 'fail') {
    return { outcome: 'refused', message: `${missing}, and the missing-revision policy is "fail"` };
  }
  if (copy !== undefined) {
    return { outcome: 'recreate-from-copy', revision: revisionFromCopy(copy, targetNamespace) };
  }
  if (objectInCluster !== undefined) {
    return {
      outcome: 'recreate-from-object',
      revision: revisionFromObject(matcher.revisionName, objectInCluster, targetNamespace),
    };
  }
  return {
    outcome: 'refused',
    message:
      `${missing}; the backup holds no point-in-time copy of it, and ${describeObject(matcher)} ` +
      `is neither in the backup nor in the cluster`,
  };
}

/** Where an expansion takes each definition from, in order of faithfulness. */
export type DefinitionSource = 'revision' | 'copy' | 'object';

/**
 * The definition to expand with for one matcher: the revision in the cluster, else the point-in-time
 * copy, else the current object. undefined when none is available.
 */
export function definitionFor(
  facts: Omit<RevisionFacts, 'matcher'>,
): { data: JsonValue; source: DefinitionSource } | undefined {
  const revisionData = facts.inCluster?.['data'] as JsonValue | undefined;
  if (revisionData !== undefined) return { data: revisionData, source: 'revision' };
  if (facts.copy !== undefined) return { data: facts.copy.data, source: 'copy' };
  if (facts.objectInCluster !== undefined) return { data: facts.objectInCluster as unknown as JsonValue, source: 'object' };
  return undefined;
}
