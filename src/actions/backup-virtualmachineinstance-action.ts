// kubevirt-velero-plugin/backup-virtualmachineinstance-action (BackupItemAction v1): a VMI goes into
// the backup with its launcher pod and volumes, unless it belongs to a VM that is not in the backup
// (then it is dropped: there is nothing to restore it for). A running, unpaused VMI needs its launcher
// pod in the backup; a standalone VMI needs its disks.
import { PluginError } from '../host/errors.ts';
import { kubeForScope, type KubeApi } from '../kube/api.ts';
import { planVmiLookups, vmiBackupGraph } from '../kubevirt/backup-graph.ts';
import { CheckedResources, isMetadataBackup, ReferenceMessages, unrestorableVolume } from '../kubevirt/backup-checks.ts';
import { CdiAnnotations, Kinds, VeleroAnnotations } from '../kubevirt/constants.ts';
import { at, isExcludedByLabel, isOwned, isVmiPaused, launcherPodOf, volumeRefs } from '../kubevirt/vm.ts';
import { backupIncludesResource } from '../velero/filters.ts';
import type { BackupExecuteInput, BackupExecuteOutput, BackupItemAction } from '../velero/actions.ts';
import type { KubeObject, ResourceSelector } from '../velero/types.ts';
import { namesOf, warnAll } from './backup-common.ts';
import { readWorld } from './backup-world.ts';

function withAnnotation(item: KubeObject, key: string, value: string): KubeObject {
  return { ...item, metadata: { ...item.metadata, annotations: { ...(item.metadata.annotations ?? {}), [key]: value } } };
}

export class BackupVirtualMachineInstanceAction implements BackupItemAction {
  constructor(private readonly kube: KubeApi) {}

  appliesTo(): ResourceSelector {
    return { includedResources: ['virtualmachineinstances.kubevirt.io'] };
  }

  async execute({ item, backup, log }: BackupExecuteInput): Promise<BackupExecuteOutput> {
    const { namespace, name } = namesOf(item, 'VirtualMachineInstance');
    const who = `VMI ${namespace}/${name}`;
    const owned = isOwned(item);
    const vmsIncluded = backupIncludesResource(backup, CheckedResources.vms);
    if (owned && !vmsIncluded) {
      log.info(`${who}: skipped: it belongs to a VM and virtualmachines are not included in the backup`);
      // Velero keeps the item when an action returns it unchanged; this annotation makes it drop it.
      return { item: withAnnotation(item, VeleroAnnotations.skipFromBackup, 'owner VM not in backup') };
    }
    const kube = kubeForScope(this.kube, backup.metadata.uid);
    const metadataOnly = isMetadataBackup(backup);
    const world = await readWorld(
      kube,
      planVmiLookups(item, { owner: owned, volumes: !owned && !metadataOnly }),
      namespace,
      who,
    );
    if (owned) {
      const vm = world.get(Kinds.VirtualMachine, name);
      if (vm !== null && vm !== undefined && isExcludedByLabel(vm)) {
        log.info(`${who}: skipped: its VM is labelled velero.io/exclude-from-backup=true`);
        return { item: withAnnotation(item, VeleroAnnotations.skipFromBackup, 'owner VM excluded from backup') };
      }
    }

    if (!isVmiPaused(item)) {
      if (!backupIncludesResource(backup, CheckedResources.pods) && backupIncludesResource(backup, CheckedResources.pvcs)) {
        throw new PluginError(`${ReferenceMessages.launcherPodMissing}: ${who}: pods are not included but PVCs are`);
      }
      const pod = launcherPodOf(name, world.launcherPods);
      if (pod === undefined) {
        if (at(item, 'status', 'phase') === 'Running') {
          throw new PluginError(`${ReferenceMessages.launcherPodMissing}: ${who} is running but its launcher pod was not found`);
        }
        log.warn(`${who}: no launcher pod found (phase ${String(at(item, 'status', 'phase') ?? 'unknown')})`);
      } else if (isExcludedByLabel(pod)) {
        throw new PluginError(
          `${ReferenceMessages.launcherPodMissing}: ${who}: launcher pod ${pod.metadata.name ?? ''} is labelled velero.io/exclude-from-backup=true`,
        );
      }
    }

    let stored = item;
    if (owned) {
      stored = withAnnotation(item, CdiAnnotations.veleroIsOwned, 'true');
    } else if (!metadataOnly) {
      const problem = unrestorableVolume(volumeRefs(item['spec']), backup, world, () => false);
      if (problem !== undefined) throw new PluginError(`${ReferenceMessages.vmiVolumesMissing}: ${who}: ${problem}`);
    }
    const graph = vmiBackupGraph(item, world);
    warnAll(log, graph.warnings);
    return { item: stored, additionalItems: graph.items };
  }
}
