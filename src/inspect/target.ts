// The read-only look at the target cluster: for the VMs of a backup, which target namespaces,
// revisions, instance types / preferences and storage classes already exist there. Only GET requests,
// through src/kube/ (every request has its deadline); names come from the backup and are validated
// before they go into a path. Objects whose existence is all that matters (the volumes' secrets,
// config maps, claims...) are read as metadata only: their contents never reach this process.
import type { KubeApi, KubeMetadataApi, ObjectKey } from '../kube/api.ts';
import { Kinds } from '../kubevirt/constants.ts';
import { INSTANCETYPE_API_VERSION, isNamespaceName, isObjectName, matchersOf, RestoreError } from '../kubevirt/restore-vm.ts';
import type { KubeObject } from '../velero/types.ts';
import { itemKey, type BackupContents } from './backup-archive.ts';
import { mountedObjects, objectKey, storageClassOf, VOLUME_RESOURCE, vmsOf, type ClusterFacts } from './predict.ts';

/** At most this many requests in flight: a large backup must not flood the API server. */
const CONCURRENCY = 8;

export function targetNamespaceOf(namespace: string, mapping: Record<string, string>): string {
  const mapped = mapping[namespace];
  return mapped !== undefined && mapped !== '' ? mapped : namespace;
}

interface Lookup {
  key: ObjectKey;
  /** Only existence is needed: ask for the metadata, never the data (a Secret's keys, say). */
  metadataOnly?: boolean;
  store: (found: KubeObject | undefined) => void;
}

/** Every GET the check needs, each with where its answer goes. Pure. */
export function plannedLookups(backup: BackupContents, mapping: Record<string, string>, facts: ClusterFacts): Lookup[] {
  const lookups = new Map<string, Lookup>();
  const add = (id: string, key: ObjectKey, store: Lookup['store']): void => {
    if (!lookups.has(id)) lookups.set(id, { key, store });
  };
  for (const vm of vmsOf(backup)) {
    const target = targetNamespaceOf(vm.metadata.namespace ?? '', mapping);
    if (!isNamespaceName(target)) continue;
    add(`ns|${target}`, { apiVersion: 'v1', kind: 'Namespace', name: target }, (found) => {
      if (found) facts.namespaces.add(target);
    });
    let matchers;
    try {
      matchers = matchersOf(vm, vm);
    } catch (err) {
      if (err instanceof RestoreError) continue; // reported by the prediction
      throw err;
    }
    for (const m of matchers) {
      const key: ObjectKey = { apiVersion: INSTANCETYPE_API_VERSION, kind: m.kind, name: m.name, ...(m.clusterScoped ? {} : { namespace: target }) };
      const id = objectKey(m, target);
      add(`obj|${id}`, key, (found) => {
        if (found) facts.objects.set(id, found);
      });
      const revision = m.revisionName;
      if (revision !== undefined) {
        add(`rev|${target}/${revision}`, { apiVersion: 'apps/v1', kind: Kinds.ControllerRevision, namespace: target, name: revision }, (found) => {
          if (found) facts.revisions.set(`${target}/${revision}`, found);
        });
      }
    }
  }
  storageClassLookups(backup, facts, lookups);
  return [...lookups.values()].concat(volumeLookups(backup, mapping, facts, new Map()));
}

/** Objects a VM mounts that the backup lacks: do they exist in the target namespace? */
function volumeLookups(backup: BackupContents, mapping: Record<string, string>, facts: ClusterFacts, seen: Map<string, Lookup>): Lookup[] {
  const out: Lookup[] = [];
  for (const vm of vmsOf(backup)) {
    const namespace = vm.metadata.namespace ?? '';
    const target = targetNamespaceOf(namespace, mapping);
    for (const ref of mountedObjects(vm)) {
      const resource = VOLUME_RESOURCE[ref.kind] ?? '';
      const kinds = ref.kind === 'DataVolume' ? [resource, 'persistentvolumeclaims'] : [resource];
      if (kinds.some((r) => backup.items.has(itemKey({ resource: r, namespace, name: ref.name })))) continue;
      if (!isObjectName(ref.name) || !isNamespaceName(target)) continue;
      for (const r of kinds) {
        const key = itemKey({ resource: r, namespace: target, name: ref.name });
        if (seen.has(key)) continue;
        const lookup: Lookup = { key: volumeObjectKey(r, target, ref.name), metadataOnly: true, store: (found) => found && facts.volumes.add(key) };
        seen.set(key, lookup);
        out.push(lookup);
      }
    }
  }
  return out;
}

const VOLUME_KINDS: Record<string, { apiVersion: string; kind: string }> = {
  'datavolumes.cdi.kubevirt.io': { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume' },
  persistentvolumeclaims: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap' },
  secrets: { apiVersion: 'v1', kind: 'Secret' },
  serviceaccounts: { apiVersion: 'v1', kind: 'ServiceAccount' },
};

function volumeObjectKey(resource: string, namespace: string, name: string): ObjectKey {
  const kind = VOLUME_KINDS[resource] ?? { apiVersion: 'v1', kind: 'PersistentVolumeClaim' };
  return { ...kind, namespace, name };
}

function storageClassLookups(backup: BackupContents, facts: ClusterFacts, lookups: Map<string, Lookup>): void {
  const add = (id: string, key: ObjectKey, store: Lookup['store']): void => {
    if (!lookups.has(id)) lookups.set(id, { key, store });
  };
  for (const [key, obj] of backup.parsed) {
    if (!key.startsWith('persistentvolumeclaims|') && !key.startsWith('datavolumes.cdi.kubevirt.io|')) continue;
    const sc = storageClassOf(obj);
    if (sc === undefined || !isObjectName(sc)) continue;
    add(`sc|${sc}`, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', name: sc }, (found) => {
      if (found) facts.storageClasses.add(sc);
    });
  }
}

/** What the target cluster holds for this backup's VMs; API errors propagate (the caller reports them). */
export async function readClusterFacts(kube: KubeApi & KubeMetadataApi, backup: BackupContents, mapping: Record<string, string>): Promise<ClusterFacts> {
  const facts: ClusterFacts = { revisions: new Map(), objects: new Map(), namespaces: new Set(), storageClasses: new Set(), volumes: new Set() };
  const queue = plannedLookups(backup, mapping, facts);
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      next.store(await (next.metadataOnly === true ? kube.getMetadata(next.key) : kube.get(next.key)));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return facts;
}
