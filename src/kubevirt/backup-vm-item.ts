// The VirtualMachine as stored in the backup: self-describing, and otherwise untouched.
// - Velero drops `status` on restore, and with it the revision names KubeVirt >= 1.5 keeps there:
//   they are written into spec.instancetype.revisionName / spec.preference.revisionName, which
//   KubeVirt honours and copies back into status.
// - A point-in-time copy of each revision the VM uses is embedded as an annotation, so that a restore
//   can re-create the revision even when it is missing from the backup or filtered out of it.
//   Each copy records whether the revision itself goes into the same backup (`inBackup`), so that a
//   restore that selects the VM alone knows, at the VM's Execute, that its revisions will still come.
// - It is labelled with its name (velero.kubevirt.io/vm), so that one VM can be restored by selector.
import type { KubeObject } from '../velero/types.ts';
import { Kinds, PluginAnnotations, PluginLabels } from './constants.ts';
import { nameLabelValue, withPluginLabel } from './plugin-labels.ts';
import type { World } from './backup-graph.ts';
import { encodeRevisionCopies, RevisionCopyError, revisionLabelsOf, type RevisionCopy } from './revision-copy.ts';
import { asRecord, effectiveRevisionName, matchersOf, qualifiedName } from './vm.ts';

/** Kubernetes rejects an object whose annotations (keys + values) exceed 256 KiB in total. */
export const TOTAL_ANNOTATIONS_LIMIT = 256 * 1024;

export interface VmItemResult {
  vm: KubeObject;
  /** The copies embedded (empty when none could be). */
  copies: RevisionCopy[];
  warnings: string[];
}

function annotationBytes(annotations: Record<string, string>): number {
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) total += Buffer.byteLength(k) + Buffer.byteLength(v);
  return total;
}

/** The value of the label that names a backed-up VM (restore it with `--selector velero.kubevirt.io/vm=<value>`). */
export function vmNameLabelValue(vmName: string): string {
  return nameLabelValue(vmName);
}

/** The VM labelled with its own name, a user's own label of that key kept in an annotation. */
export function withVmNameLabel(vm: KubeObject): KubeObject {
  return withPluginLabel(vm, PluginLabels.vmName, vmNameLabelValue(vm.metadata.name ?? ''), PluginAnnotations.originalVmLabel);
}

/**
 * `inBackup` says whether a revision goes into the same backup (see backup-listed.ts); without it the
 * copies record nothing about it, as before.
 */
export function selfDescribingVm(vm: KubeObject, world: World, inBackup?: (revision: KubeObject) => boolean): VmItemResult {
  const warnings: string[] = [];
  const who = `VM ${qualifiedName(vm)}`;
  const spec = { ...(asRecord(vm['spec']) ?? {}) };
  const copies: RevisionCopy[] = [];
  for (const matcher of matchersOf(vm)) {
    if (matcher.statusRevisionName !== undefined) {
      spec[matcher.role] = { ...(asRecord(spec[matcher.role]) ?? {}), revisionName: matcher.statusRevisionName };
    }
    const revisionName = effectiveRevisionName(matcher);
    if (revisionName === undefined) continue;
    const revision = world.get(Kinds.ControllerRevision, revisionName);
    if (revision === null || revision === undefined) continue; // the graph warns about it
    const data = revision['data'];
    if (data === undefined || data === null) {
      warnings.push(`${who}: ControllerRevision ${JSON.stringify(revisionName)} has no data; no copy of it is embedded`);
      continue;
    }
    copies.push({
      role: matcher.role,
      name: revisionName,
      labels: revisionLabelsOf(revision),
      data: data as RevisionCopy['data'],
      ...(inBackup === undefined ? {} : { inBackup: inBackup(revision) }),
    });
  }

  const annotations = { ...(vm.metadata.annotations ?? {}) };
  // A copy left by an earlier pass would describe other revisions: only this backup's copies count.
  delete annotations[PluginAnnotations.revisionCopies];
  let embedded: RevisionCopy[] = [];
  if (copies.length > 0) {
    try {
      const value = encodeRevisionCopies(copies);
      const withCopies = { ...annotations, [PluginAnnotations.revisionCopies]: value };
      if (annotationBytes(withCopies) > TOTAL_ANNOTATIONS_LIMIT) {
        warnings.push(
          `${who}: embedding the revision copies would take its annotations over Kubernetes' 256 KiB limit; ` +
            'the backup relies on the ControllerRevisions themselves',
        );
      } else {
        Object.assign(annotations, withCopies);
        embedded = copies;
      }
    } catch (err) {
      if (!(err instanceof RevisionCopyError)) throw err;
      warnings.push(`${who}: revision copies not embedded: ${err.message}`);
    }
  }

  const hadAnnotations = vm.metadata.annotations !== undefined;
  const metadata = { ...vm.metadata };
  if (hadAnnotations || Object.keys(annotations).length > 0) metadata.annotations = annotations;
  const result: KubeObject = withVmNameLabel({ ...vm, metadata });
  if (vm['spec'] !== undefined) result['spec'] = spec;
  return { vm: result, copies: embedded, warnings };
}
