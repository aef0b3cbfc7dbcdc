// Expanding a VirtualMachine: its instance type and preference applied to spec.template, the
// references removed, exactly as KubeVirt does it. Follows KubeVirt v1.9.0 (the current stable
// release): pkg/instancetype/expand (Expand), pkg/instancetype/apply, pkg/instancetype/preference/apply,
// and the VM admission webhook's checks (spread topology, preference requirements). Pure: no I/O,
// the input objects are never modified.
//
// Checked against KubeVirt's own Go code by test/oracle/expand-differential.test.ts.
import type { KubeObject } from '../../velero/types.ts';
import type { Conflict } from './conflict.ts';
import { type ClusterDefaults, KUBEVIRT_DEFAULTS, setClusterDefaults, setDefaultNetworkInterface, setDefaultVolumeDisks } from './defaults.ts';
import { applyInstancetype, SpreadRatioError } from './instancetype.ts';
import { clone, ensureObj, isObj, type Obj, optObj, present, ShapeError } from './json-util.ts';
import { applyPreference, type KubevirtRelease } from './preference.ts';
import { QuantityError } from './quantity.ts';
import { checkRequirements, checkSpreadTopology } from './requirements.ts';
import { extractSpec, type InstancetypeSpecSource, type PreferenceSpecSource, SpecSourceError } from './spec-source.ts';

export type { Conflict } from './conflict.ts';
export type { ClusterDefaults } from './defaults.ts';
export type { KubevirtRelease } from './preference.ts';
export { KUBEVIRT_DEFAULTS } from './defaults.ts';
export { extractSpec, type InstancetypeSpecSource, type PreferenceSpecSource } from './spec-source.ts';

/** The KubeVirt release whose semantics this module reproduces. */
export const KUBEVIRT_VERSION = 'v1.9.0';

export type ExpandResult = { ok: true; vm: KubeObject } | { ok: false; conflicts: Conflict[] };

export interface ExpandOptions {
  /**
   * Reproduce an older KubeVirt release where its semantics differ (default "1.9", i.e. v1.9.0).
   * "1.8"/"1.7" (checked against v1.8.4) and "1.6" (checked against v1.6.0): see preference.ts.
   */
  kubevirtRelease?: KubevirtRelease;
  /**
   * Also set KubeVirt's cluster-dependent defaults (architecture, machine type, guest memory, CPU
   * topology, pull policies, ...) as KubeVirt's own Expand does. Off by default: the cluster the VM is
   * restored into sets them itself when the VM starts, from its own configuration, which a backup
   * cannot know. The preference requirements are checked with these values either way.
   */
  clusterDefaults?: ClusterDefaults;
  /** Binding of the pod interface added to a VM without interfaces and networks (KubeVirt default: bridge). */
  defaultNetworkInterface?: 'bridge' | 'masquerade';
  /**
   * Also apply the preference's preferredStorageClassName to dataVolumeTemplates, which KubeVirt's VM
   * mutating webhook does when a VM with a preference is created (Expand itself does not). Default true:
   * once expanded the preference is gone and the webhook can no longer do it.
   */
  dataVolumeTemplateStorageClass?: boolean;
}

const TEMPLATE_SPEC = 'spec.template.spec';

function failure(path: string, message: string): ExpandResult {
  return { ok: false, conflicts: [{ path, message }] };
}

/**
 * Applies `instancetype` and `preference` (objects, revisions, revision data or bare specs) to `vm`.
 * A VM without spec.instancetype and spec.preference is returned unchanged (as a copy). Never throws
 * on bad input: it is reported as a conflict with the offending path.
 */
export function expandVirtualMachine(
  vm: KubeObject,
  instancetype?: InstancetypeSpecSource,
  preference?: PreferenceSpecSource,
  options: ExpandOptions = {},
): ExpandResult {
  try {
    return expand(vm, instancetype, preference, options);
  } catch (err) {
    if (err instanceof ShapeError) return failure(err.path, err.message);
    if (err instanceof SpecSourceError) return failure(err.kind === 'instancetype' ? 'spec.instancetype' : 'spec.preference', err.message);
    if (err instanceof QuantityError) return failure(TEMPLATE_SPEC, err.message);
    if (err instanceof SpreadRatioError) return failure('instancetype.spec.cpu.guest', err.message);
    throw err;
  }
}

function expand(vm: KubeObject, itSource: InstancetypeSpecSource | undefined, prefSource: PreferenceSpecSource | undefined, options: ExpandOptions): ExpandResult {
  if (!isObj(vm)) return failure('', 'the VirtualMachine is not an object');
  const spec = optObj(vm['spec'], 'spec');
  if (spec === undefined) return failure('spec', 'the VirtualMachine has no spec');
  const hasIt = present(spec['instancetype']);
  const hasPref = present(spec['preference']);
  if (!hasIt && !hasPref) return { ok: true, vm: clone(vm) };
  if (!isObj(spec['template'])) return failure('spec.template', 'the VirtualMachine has no spec.template');

  // A matcher without its definition would make KubeVirt fail to find it; a definition without a
  // matcher is ignored by KubeVirt (its finder returns nothing), so it is ignored here too.
  if (hasIt && itSource === undefined) return failure('spec.instancetype', 'the VM refers to an instance type but no instance type definition was given');
  if (hasPref && prefSource === undefined) return failure('spec.preference', 'the VM refers to a preference but no preference definition was given');
  const it = hasIt && itSource !== undefined ? extractSpec(itSource, 'instancetype') : undefined;
  const pref = hasPref && prefSource !== undefined ? extractSpec(prefSource, 'preference') : undefined;

  const spread = checkSpreadTopology(it, pref);
  if (spread) return { ok: false, conflicts: [spread] };

  const out = clone(vm) as KubeObject & { spec: Obj };
  const template = out.spec['template'] as Obj;
  const vmiSpec = ensureObj(template, 'spec', 'spec.template');
  const meta = ensureObj(template, 'metadata', 'spec.template');

  setDefaultVolumeDisks(vmiSpec);
  setDefaultNetworkInterface(vmiSpec, options.defaultNetworkInterface ?? options.clusterDefaults?.defaultNetworkInterface ?? 'bridge');

  if (it !== undefined) {
    const conflicts = applyInstancetype(TEMPLATE_SPEC, it, pref, vmiSpec, meta, options.kubevirtRelease ?? '1.9');
    if (conflicts.length > 0) return { ok: false, conflicts };
  }
  if (pref !== undefined) applyPreference(TEMPLATE_SPEC, pref, vmiSpec, meta, options.kubevirtRelease ?? '1.9');

  // Requirements are judged on the spec with KubeVirt's defaults, as the admission webhook does.
  const defaulted = clone(vmiSpec);
  const v16 = options.kubevirtRelease === '1.6';
  setClusterDefaults(defaulted, options.clusterDefaults ?? KUBEVIRT_DEFAULTS, v16);
  const unmet = checkRequirements(it, pref, defaulted, options.kubevirtRelease !== '1.6');
  if (unmet) return { ok: false, conflicts: [unmet] };

  if (options.clusterDefaults) setClusterDefaults(vmiSpec, options.clusterDefaults, v16);
  if (pref !== undefined && options.dataVolumeTemplateStorageClass !== false) applyStorageClass(pref, out.spec);

  delete out.spec['instancetype'];
  delete out.spec['preference'];
  const status = optObj(out['status'], 'status');
  if (status !== undefined) {
    delete status['instancetypeRef'];
    delete status['preferenceRef'];
  }
  return { ok: true, vm: out };
}

/** preference.volumes.preferredStorageClassName fills dataVolumeTemplates' pvc/storage without one. */
function applyStorageClass(pref: Obj, spec: Obj): void {
  const sc = optObj(pref['volumes'], 'preference.spec.volumes')?.['preferredStorageClassName'];
  if (typeof sc !== 'string' || sc === '') return;
  const dvts = spec['dataVolumeTemplates'];
  if (!Array.isArray(dvts)) return;
  for (const dvt of dvts) {
    const dvSpec = optObj(optObj(dvt, 'spec.dataVolumeTemplates[]')?.['spec'], 'spec.dataVolumeTemplates[].spec');
    for (const key of ['pvc', 'storage']) {
      const target = optObj(dvSpec?.[key], `spec.dataVolumeTemplates[].spec.${key}`);
      if (target !== undefined && !present(target['storageClassName'])) target['storageClassName'] = sc;
    }
  }
}
