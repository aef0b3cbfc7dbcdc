// The I/O half of the backup graph: reads what planVmLookups()/planVmiLookups() ask for, in
// parallel, through the per-backup cached KubeApi.
import { PluginError } from '../host/errors.ts';
import { kubeForScope, type KubeApi } from '../kube/api.ts';
import { isMetadataBackup } from '../kubevirt/backup-checks.ts';
import { planVmLookups, vmBackupGraph, World, worldKey, type GraphResult, type LookupPlan } from '../kubevirt/backup-graph.ts';
import { Kinds, KubevirtMarkers } from '../kubevirt/constants.ts';
import { isVmRunning } from '../kubevirt/vm.ts';
import type { Backup, KubeObject } from '../velero/types.ts';
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
  const plan = planVmLookups(vm, { vmi: isVmRunning(vm), volumes: !isMetadataBackup(backup) });
  const world = await readWorld(kubeForScope(kube, backup.metadata.uid), plan, namespace, who);
  return { who, world, graph: vmBackupGraph(vm, world) };
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
