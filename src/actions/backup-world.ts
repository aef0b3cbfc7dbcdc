// The I/O half of the backup graph: reads what planVmLookups()/planVmiLookups() ask for, in
// parallel, through the per-backup cached KubeApi.
import { PluginError } from '../host/errors.ts';
import { kubeForScope, type KubeApi } from '../kube/api.ts';
import { isMetadataBackup } from '../kubevirt/backup-checks.ts';
import { planVmLookups, vmBackupGraph, World, worldKey, type GraphResult, type LookupPlan } from '../kubevirt/backup-graph.ts';
import { Kinds, KubevirtMarkers } from '../kubevirt/constants.ts';
import { isVmRunning } from '../kubevirt/vm.ts';
import { dropOldest } from '../shared/bounded.ts';
import type { Backup, KubeObject, ResourceIdentifier } from '../velero/types.ts';
import { namesOf } from './backup-common.ts';

export interface VmBackupView {
  /** "VM namespace/name", for messages. */
  who: string;
  world: World;
  /** Everything the VM needs in the backup: complete, also objects another VM already brought. */
  graph: GraphResult;
}

/**
 * The one way a VM's related items are computed at backup time. The VM BackupItemAction and the VM
 * ItemBlockAction both call this - same look-ups, same per-backup cache (keyed by the Backup's UID),
 * same pure graph - so the item block Velero forms and the additional items it backs up cannot
 * disagree.
 */
export async function readVmForBackup(kube: KubeApi, vm: KubeObject, backup: Backup): Promise<VmBackupView> {
  const { namespace, name } = namesOf(vm, 'VirtualMachine');
  const who = `VM ${namespace}/${name}`;
  const volumes = !isMetadataBackup(backup);
  const scoped = kubeForScope(kube, backup.metadata.uid);
  // Only with a per-backup cached view: without one, the objects read could differ between calls.
  const key = scoped === kube ? undefined : viewKey(vm, volumes);
  const known = key === undefined ? undefined : recentViews.get(scoped)?.get(key);
  if (known !== undefined) return known;
  const plan = planVmLookups(vm, { vmi: isVmRunning(vm), volumes });
  const world = await readWorld(scoped, plan, namespace, who);
  const graph = vmBackupGraph(vm, world);
  const view: VmBackupView = { who, world, graph: { items: Object.freeze(graph.items) as ResourceIdentifier[], warnings: Object.freeze(graph.warnings) as string[] } };
  if (key !== undefined) {
    const views = recentViews.get(scoped) ?? new Map<string, VmBackupView>();
    recentViews.set(scoped, views);
    views.set(key, view);
    dropOldest(views, REMEMBERED_VIEWS);
  }
  return view;
}

/**
 * Velero asks about each VM twice in a row at backup: GetRelatedItems (its item block), then Execute.
 * The second call gets the view the first one computed, for the same version of the VM (uid and
 * resourceVersion) through the same per-backup cached API view: the graph is a pure function of the
 * VM and of what that cache answers, which does not change within a backup. Keyed by the cached view,
 * so a view never outlives its backup's cache.
 */
const recentViews = new WeakMap<KubeApi, Map<string, VmBackupView>>();
/** More than the VMs Velero has in flight at once (one per item block worker). */
const REMEMBERED_VIEWS = 16;

function viewKey(vm: KubeObject, volumes: boolean): string | undefined {
  const { uid, resourceVersion } = vm.metadata;
  if (!uid || !resourceVersion) return undefined;
  return `${uid}|${resourceVersion}|${volumes ? 'volumes' : 'metadata-only'}`;
}

export async function readWorld(kube: KubeApi, plan: LookupPlan, namespace: string, who: string): Promise<World> {
  try {
    const [objects, launcherPods, pvcs] = await Promise.all([
      Promise.all(
        plan.objects.map(async (key) => [worldKey(key.kind, key.name), (await kube.get(key)) ?? null] as const),
      ),
      plan.launcherPods
        ? kube.list(
            { apiVersion: 'v1', kind: Kinds.Pod, namespace },
            { labelSelector: `${KubevirtMarkers.appLabel}=${KubevirtMarkers.launcherAppValue}` },
          )
        : Promise.resolve<KubeObject[]>([]),
      plan.pvcs
        ? kube.list({ apiVersion: 'v1', kind: Kinds.PersistentVolumeClaim, namespace })
        : Promise.resolve<KubeObject[]>([]),
    ]);
    return new World(new Map<string, KubeObject | null>(objects), launcherPods, pvcs);
  } catch (err) {
    throw new PluginError(`${who}: cannot read the objects it depends on: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
