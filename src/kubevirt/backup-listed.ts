// Whether Velero's own item collection of a backup already holds an object the VM needs, so that
// returning it as an additional item would only cost Velero a GET (it fetches every additional item
// from the API server before it notices the item is already in the backup): 1,000 VMs with two
// revisions each cost it 2,000 GETs, most of a backup's time beyond Velero's own.
//
// Velero lists every included resource of every included namespace when the backup starts, with the
// backup's label selector, and backs up each listed item unless it carries
// velero.io/exclude-from-backup=true (pkg/backup/item_collector.go, item_backupper.go). So an object
// is known to be listed when no label selector or resource policy narrows the backup, its namespace
// and resource are included, it is not excluded by label nor being deleted, and it existed before the
// Backup object did: both creationTimestamps come from the API server's clock, in whole seconds,
// hence the margin. Anything else is returned as before. Pure; the graph itself is unchanged.
import { backupIncludesResource } from '../velero/filters.ts';
import { resourceByPlural, type ResourceInfo } from '../kube/resources.ts';
import type { Backup, KubeObject, ResourceIdentifier } from '../velero/types.ts';
import { Resources, UserLabels } from './constants.ts';

/** Timestamps are whole seconds, and HA API servers' clocks may differ a little. */
export const LISTING_CLOCK_MARGIN_MS = 2_000;

const GLOB = /[*?[\]{}]/;

function namespaceListed(backup: Backup, namespace: string): boolean {
  const included = backup.spec?.includedNamespaces ?? [];
  const excluded = backup.spec?.excludedNamespaces ?? [];
  // Globs in the namespace filters: not worth predicting; the object is returned.
  if (excluded.some((e) => e === namespace || GLOB.test(e))) return false;
  return included.length === 0 || included.includes('*') || included.includes(namespace);
}

export function listedByVelero(object: KubeObject, resource: ResourceInfo, backup: Backup): boolean {
  const spec = backup.spec ?? {};
  const namespace = object.metadata.namespace;
  if (!resource.namespaced || namespace === undefined || namespace === '') return false;
  if (spec.labelSelector !== undefined && spec.labelSelector !== null) return false;
  if (Array.isArray(spec['orLabelSelectors']) && spec['orLabelSelectors'].length > 0) return false;
  if (spec['resourcePolicy'] !== undefined && spec['resourcePolicy'] !== null) return false;
  if (!namespaceListed(backup, namespace) || !backupIncludesResource(backup, resource)) return false;
  if (object.metadata.labels?.[UserLabels.excludeFromBackup] === 'true') return false;
  if (object.metadata.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null) return false;
  const created = Date.parse(String(object.metadata.creationTimestamp ?? ''));
  const backupCreated = Date.parse(String(backup.metadata.creationTimestamp ?? ''));
  if (!Number.isFinite(created) || !Number.isFinite(backupCreated)) return false;
  return created + LISTING_CLOCK_MARGIN_MS <= backupCreated;
}

/**
 * Whether Velero puts this object into the backup once the VM hands it over (its own listing, or an
 * additional item of this VM or of an earlier one): Velero skips an additional item that is being
 * deleted, labelled velero.io/exclude-from-backup=true, or of a resource the backup's filters exclude,
 * unless the returning VM carries must-include-additional-items (pkg/backup/item_backupper.go). The
 * object is in the VM's namespace, which the backup includes since it holds the VM. When unsure it
 * answers false: a restore then treats the object as missing, which is how it treated every object
 * before this was recorded.
 */
export function backedUpWithVm(object: KubeObject, resource: ResourceInfo, backup: Backup, mustInclude: boolean): boolean {
  if (object.metadata.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null) return false;
  if (object.metadata.labels?.[UserLabels.excludeFromBackup] === 'true') return false;
  return mustInclude || backupIncludesResource(backup, resource);
}

/**
 * Whether a ControllerRevision the VM uses goes into the backup with it: the VM's graph hands it to
 * Velero (listed or returned; a revision that was not found is not) and Velero keeps it. The graph
 * names revisions in the VM's namespace only, so the name identifies it.
 */
export function revisionBackedUpWithVm(
  revision: KubeObject,
  vmItems: readonly ResourceIdentifier[],
  backup: Backup,
  mustInclude: boolean,
): boolean {
  const resource = resourceByPlural('apps', Resources.controllerrevisions);
  const handedOver = vmItems.some(
    (id) => id.group === 'apps' && id.resource === Resources.controllerrevisions && id.name === revision.metadata.name,
  );
  return resource !== undefined && handedOver && backedUpWithVm(revision, resource, backup, mustInclude);
}
