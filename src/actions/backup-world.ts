// The I/O half of the backup graph: reads what planVmLookups()/planVmiLookups() ask for, in
// parallel, through the per-backup cached KubeApi.
import { PluginError } from '../host/errors.ts';
import type { KubeApi } from '../kube/api.ts';
import { World, worldKey, type LookupPlan } from '../kubevirt/backup-graph.ts';
import { Kinds, KubevirtMarkers } from '../kubevirt/constants.ts';
import type { KubeObject } from '../velero/types.ts';

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
