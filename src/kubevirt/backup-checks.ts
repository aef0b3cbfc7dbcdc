// Safety checks before a VM or VMI goes into a backup: refuse what could not be restored, with the
// reference plugin's semantics and the start of its error texts (users and scripts know them), plus
// the VM's name and the precise reason.
import { resourceByPlural, type ResourceInfo } from '../kube/resources.ts';
import { backupIncludesResource } from '../velero/filters.ts';
import type { Backup, KubeObject } from '../velero/types.ts';
import { CDI_GROUP, KUBEVIRT_GROUP, Kinds, Resources, UserLabels } from './constants.ts';
import type { World } from './backup-graph.ts';
import {
  dataVolumePhase,
  dataVolumeTemplateNames,
  isExcludedByLabel,
  isVmRunning,
  matchersOf,
  qualifiedName,
  vmTemplateSpec,
  volumeRefs,
  type VolumeRef,
} from './vm.ts';

export const ReferenceMessages = {
  vmNotSafe: 'VM cannot be safely backed up',
  vmNotRestorable: 'VM would not be restored correctly',
  launcherPodMissing: 'VM is running but launcher pod is not included in the backup',
  vmiVolumesMissing: 'VM has DataVolume or PVC volumes and DataVolumes/PVCs is not included in the backup',
} as const;

function known(group: string, plural: string): ResourceInfo {
  const info = resourceByPlural(group, plural);
  if (info === undefined) throw new Error(`internal: resource ${plural}.${group} missing from the resource table`);
  return info;
}

export const CheckedResources = {
  vmis: known(KUBEVIRT_GROUP, Resources.virtualmachineinstances),
  vms: known(KUBEVIRT_GROUP, Resources.virtualmachines),
  pods: known('', Resources.pods),
  pvcs: known('', Resources.persistentvolumeclaims),
  dataVolumes: known(CDI_GROUP, Resources.datavolumes),
  revisions: known('apps', Resources.controllerrevisions),
} as const;

/** The Backup label `velero.kubevirt.io/metadataBackup` (any value): back up definitions only. */
export function isMetadataBackup(backup: Backup): boolean {
  return Object.prototype.hasOwnProperty.call(backup.metadata.labels ?? {}, UserLabels.metadataBackup);
}

export interface CheckResult {
  /** Non-empty: the item must not be backed up; the action fails with this text. */
  error?: string;
  warnings: string[];
}

/**
 * Why these volumes could not be restored from this backup, or undefined when they can.
 * A DataVolume that exists must be in the backup (resource included, not labelled for exclusion) and
 * so must its PVC once it is populated (a restored DataVolume is marked pre-populated and CDI would
 * wait for a PVC that never comes); without a DataVolume the PVC of that name must be there.
 */
export function unrestorableVolume(
  refs: readonly VolumeRef[],
  backup: Backup,
  world: World,
  skip: (ref: VolumeRef) => boolean,
): string | undefined {
  const pvcsIncluded = backupIncludesResource(backup, CheckedResources.pvcs);
  const pvcProblem = (claim: string, volume: string): string | undefined => {
    if (!pvcsIncluded) return `volume ${JSON.stringify(volume)}: persistentvolumeclaims are not included in the backup`;
    const pvc = world.get(Kinds.PersistentVolumeClaim, claim);
    if (pvc === null) return `volume ${JSON.stringify(volume)}: PVC ${JSON.stringify(claim)} not found`;
    if (isExcludedByLabel(pvc ?? undefined)) {
      return `volume ${JSON.stringify(volume)}: PVC ${JSON.stringify(claim)} is labelled velero.io/exclude-from-backup=true`;
    }
    return undefined;
  };
  for (const ref of refs) {
    if (skip(ref)) continue;
    if (ref.kind === 'DataVolume') {
      const dv = world.get(Kinds.DataVolume, ref.name);
      if (dv === null) {
        const problem = pvcProblem(ref.name, ref.volume);
        if (problem !== undefined) return `${problem} (and DataVolume ${JSON.stringify(ref.name)} does not exist)`;
        continue;
      }
      if (isExcludedByLabel(dv ?? undefined)) {
        return `volume ${JSON.stringify(ref.volume)}: DataVolume ${JSON.stringify(ref.name)} is labelled velero.io/exclude-from-backup=true`;
      }
      if (!backupIncludesResource(backup, CheckedResources.dataVolumes)) {
        return `volume ${JSON.stringify(ref.volume)}: datavolumes are not included in the backup`;
      }
      const pvc = world.get(Kinds.PersistentVolumeClaim, ref.name);
      if (dataVolumePhase(dv ?? undefined) === 'Succeeded' && pvc !== null) {
        const problem = pvcProblem(ref.name, ref.volume);
        if (problem !== undefined) return problem;
      }
    } else if (ref.kind === 'PersistentVolumeClaim') {
      const problem = pvcProblem(ref.name, ref.volume);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

export function checkVmBackup(vm: KubeObject, backup: Backup, world: World): CheckResult {
  const warnings: string[] = [];
  const who = `VM ${qualifiedName(vm)}`;
  if (isVmRunning(vm)) {
    if (!backupIncludesResource(backup, CheckedResources.vmis)) {
      return {
        error: `${ReferenceMessages.vmNotSafe}: ${who} is running and virtualmachineinstances are not included in the backup`,
        warnings,
      };
    }
    const vmi = world.get(Kinds.VirtualMachineInstance, vm.metadata.name ?? '');
    if (vmi === null) {
      warnings.push(`${who} is running but has no VirtualMachineInstance yet; it is backed up without one`);
    } else if (isExcludedByLabel(vmi)) {
      return {
        error: `${ReferenceMessages.vmNotSafe}: ${who} is running and its VMI is labelled velero.io/exclude-from-backup=true`,
        warnings,
      };
    }
    if (!backupIncludesResource(backup, CheckedResources.pods) && backupIncludesResource(backup, CheckedResources.pvcs)) {
      return {
        error:
          `${ReferenceMessages.vmNotSafe}: ${who} is running and the backup contains PVCs but not pods ` +
          `(the launcher pod carries the guest freeze/thaw hooks that make its disks consistent)`,
        warnings,
      };
    }
  }
  if (!isMetadataBackup(backup)) {
    const templates = dataVolumeTemplateNames(vm);
    const problem = unrestorableVolume(volumeRefs(vmTemplateSpec(vm)), backup, world, (ref) =>
      ref.kind === 'DataVolume' && templates.has(ref.name),
    );
    if (problem !== undefined) return { error: `${ReferenceMessages.vmNotRestorable}: ${who}: ${problem}`, warnings };
  }
  if (matchersOf(vm).length > 0 && !backupIncludesResource(backup, CheckedResources.revisions)) {
    warnings.push(
      `${who}: controllerrevisions are not included in the backup; a restore re-creates the VM's ` +
        'instance type / preference revisions from the copies embedded in the VM',
    );
  }
  return { warnings };
}
