// What a restored VM or standalone VMI needs restored before it: the objects its spec names (as the
// reference plugin returns them, so that a VM restored alone by label selector brings its disks and
// secrets), plus the instance type / preference objects and revisions the restore action asks for.
//
// Identifiers name the item as it is in the BACKUP (original namespace): Velero looks additional items up
// in the backup by that name and applies --namespace-mappings itself.
import { isJsonObject } from '../shared/json.ts';
import { resourceByPlural } from '../kube/resources.ts';
import { backupIncludesNamespace, backupIncludesResource } from '../velero/filters.ts';
import type { Backup, JsonObject, ResourceIdentifier, Restore } from '../velero/types.ts';
import { CDI_GROUP, INSTANCETYPE_GROUP, Resources } from './constants.ts';
import { multusNetworks, nadIdentifier } from './networks.ts';
import { isObjectName, type MatcherRef } from './restore-vm.ts';

function id(group: string, resource: string, namespace: string, name: string): ResourceIdentifier {
  return { group, resource, namespace, name };
}

function str(obj: unknown, key: string): string | undefined {
  if (!isJsonObject(obj)) return undefined;
  const value = obj[key];
  return typeof value === 'string' && isObjectName(value) ? value : undefined;
}

function secretRefs(source: unknown): string[] {
  if (!isJsonObject(source)) return [];
  return [str(source['userDataSecretRef'], 'name'), str(source['networkDataSecretRef'], 'name')].filter(
    (n): n is string => n !== undefined,
  );
}

/**
 * The objects a VirtualMachineInstanceSpec refers to by name: volumes, access credentials, and the NADs
 * of its Multus networks. A NAD in another namespace is asked for only when the backup (if known) took
 * that namespace: Velero warns about every additional item missing from the backup.
 */
export function instanceSpecItems(spec: JsonObject | undefined, namespace: string, backup?: Backup): ResourceIdentifier[] {
  const items: ResourceIdentifier[] = [];
  const add = (group: string, resource: string, name: string | undefined): void => {
    if (name !== undefined) items.push(id(group, resource, namespace, name));
  };
  const volumes = spec?.['volumes'];
  for (const volume of Array.isArray(volumes) ? volumes : []) {
    if (!isJsonObject(volume)) continue;
    if (volume['dataVolume'] !== undefined) {
      const name = str(volume['dataVolume'], 'name');
      add(CDI_GROUP, Resources.datavolumes, name);
      add('', Resources.persistentvolumeclaims, name);
    } else if (volume['persistentVolumeClaim'] !== undefined) {
      add('', Resources.persistentvolumeclaims, str(volume['persistentVolumeClaim'], 'claimName'));
    } else if (volume['memoryDump'] !== undefined) {
      add('', Resources.persistentvolumeclaims, str(volume['memoryDump'], 'claimName'));
    } else if (volume['configMap'] !== undefined) {
      add('', Resources.configmaps, str(volume['configMap'], 'name'));
    } else if (volume['secret'] !== undefined) {
      add('', Resources.secrets, str(volume['secret'], 'secretName'));
    } else if (volume['serviceAccount'] !== undefined) {
      add('', Resources.serviceaccounts, str(volume['serviceAccount'], 'serviceAccountName'));
    } else if (volume['cloudInitNoCloud'] !== undefined) {
      for (const name of secretRefs(volume['cloudInitNoCloud'])) add('', Resources.secrets, name);
    } else if (volume['cloudInitConfigDrive'] !== undefined) {
      for (const name of secretRefs(volume['cloudInitConfigDrive'])) add('', Resources.secrets, name);
    }
  }
  const credentials = spec?.['accessCredentials'];
  for (const credential of Array.isArray(credentials) ? credentials : []) {
    if (!isJsonObject(credential)) continue;
    for (const kind of ['sshPublicKey', 'userPassword']) {
      const source = credential[kind];
      if (!isJsonObject(source) || !isJsonObject(source['source'])) continue;
      add('', Resources.secrets, str(source['source']['secret'], 'secretName'));
    }
  }
  for (const ref of multusNetworks(spec, namespace).refs) {
    if (ref.namespace === namespace || backup === undefined || backupIncludesNamespace(backup, ref.namespace)) items.push(nadIdentifier(ref));
  }
  return dedupe(items);
}

const OBJECT_RESOURCE: Record<string, string> = {
  VirtualMachineInstancetype: Resources.instancetypes,
  VirtualMachineClusterInstancetype: Resources.clusterInstancetypes,
  VirtualMachinePreference: Resources.preferences,
  VirtualMachineClusterPreference: Resources.clusterPreferences,
};

/** The instance type / preference object a matcher names (cluster-scoped kinds have no namespace). */
export function matcherObjectItem(m: MatcherRef, namespace: string): ResourceIdentifier {
  return id(INSTANCETYPE_GROUP, OBJECT_RESOURCE[m.kind] ?? '', m.clusterScoped ? '' : namespace, m.name);
}

export function revisionItem(revisionName: string, namespace: string): ResourceIdentifier {
  return id('apps', Resources.controllerrevisions, namespace, revisionName);
}

export function dedupe(items: readonly ResourceIdentifier[]): ResourceIdentifier[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = `${item.group}/${item.resource}/${item.namespace}/${item.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Whether Velero may restore an additional item of this kind from the backup: the backup's resource
 * filters let it in (when the Backup is known) and the restore's do not keep it out. Velero warns about
 * every additional item it cannot find in the backup, so the plugin does not ask for ones that cannot be
 * there (e.g. a backup made with --exclude-resources controllerrevisions).
 */
export function mayComeFromBackup(item: ResourceIdentifier, backup: Backup | undefined, restore: Restore): boolean {
  const resource = resourceByPlural(item.group, item.resource);
  if (resource === undefined) return true;
  if (backup !== undefined && !backupIncludesResource(backup, resource)) return false;
  // A restore filters resources with the same rules as a backup's old-style filters.
  const spec = restore.spec ?? {};
  const restoreFilters: Backup = {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {},
    spec: {
      includedResources: spec.includedResources ?? [],
      excludedResources: spec.excludedResources ?? [],
      ...(spec.includeClusterResources === false ? { includeClusterResources: false } : {}),
    },
  };
  return backupIncludesResource(restoreFilters, resource);
}
