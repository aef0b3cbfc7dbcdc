// Where instance type and preference definitions come from: the live object, the point-in-time copy
// a ControllerRevision holds (its `data`), or the whole ControllerRevision. Revisions written by
// older KubeVirt releases hold other API versions; this module turns all of them into the
// instancetype.kubevirt.io/v1beta1 spec that KubeVirt v1.9 applies.
//
// Accepted shapes (what KubeVirt has written into revisions over time):
// - v1beta1 / v1alpha2 / v1alpha1 objects: {apiVersion, kind, metadata, spec};
// - v1alpha1 "spec revisions" (KubeVirt 0.5x): {apiVersion, spec: <base64 of the JSON spec>};
// - a bare spec ({cpu, memory, ...} or {devices, cpu, ...}).
// v1alpha1/v1alpha2 specs have the same JSON field names as v1beta1; KubeVirt's conversion differs
// only in which fields are pointers (see toV1beta1).
import { isObj, type Obj } from './json-util.ts';

export const INSTANCETYPE_GROUP = 'instancetype.kubevirt.io';
const KNOWN_VERSIONS = new Set(['v1alpha1', 'v1alpha2', 'v1beta1']);
const INSTANCETYPE_KINDS = new Set(['VirtualMachineInstancetype', 'VirtualMachineClusterInstancetype']);
const PREFERENCE_KINDS = new Set(['VirtualMachinePreference', 'VirtualMachineClusterPreference']);

/** An instance type as any of: object, revision data, ControllerRevision, or bare spec. */
export type InstancetypeSpecSource = Obj;
/** A preference as any of: object, revision data, ControllerRevision, or bare spec. */
export type PreferenceSpecSource = Obj;

export type SpecKind = 'instancetype' | 'preference';

export class SpecSourceError extends Error {
  constructor(
    readonly kind: SpecKind,
    message: string,
  ) {
    super(message);
    this.name = 'SpecSourceError';
  }
}

function decodeBase64Json(text: string, what: string, kind: SpecKind): unknown {
  try {
    return JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch (err) {
    throw new SpecSourceError(kind, `${what}: the revision's spec is not base64 encoded JSON (${(err as Error).message})`);
  }
}

function versionOf(apiVersion: unknown, what: string, kind: SpecKind): string {
  if (typeof apiVersion !== 'string') throw new SpecSourceError(kind, `${what}: apiVersion must be a string`);
  const [group, version] = apiVersion.split('/');
  if (group !== INSTANCETYPE_GROUP || version === undefined || !KNOWN_VERSIONS.has(version)) {
    throw new SpecSourceError(kind, `${what}: unsupported apiVersion "${apiVersion}" (expected ${INSTANCETYPE_GROUP}/v1alpha1, v1alpha2 or v1beta1)`);
  }
  return version;
}

/**
 * Converts a spec of an older served version to v1beta1 the way KubeVirt's generated conversions do.
 * The JSON field names are the same; what changes is which fields are pointers:
 * - instance types: v1alpha1/v1alpha2 cpu.model, cpu.dedicatedCPUPlacement and
 *   cpu.isolateEmulatorThread are plain values, so after conversion they are always set ("", false,
 *   false). This matters: a VM with its own CPU model then conflicts with an old instance type that
 *   names none, exactly as it does in KubeVirt.
 * - preferences: an empty preferredCPUTopology becomes "not set".
 */
function toV1beta1(spec: Obj, version: string, kind: SpecKind): Obj {
  if (version === 'v1beta1') return spec;
  const cpu = spec['cpu'];
  if (kind === 'instancetype') {
    const c = isObj(cpu) ? cpu : {};
    return {
      ...spec,
      cpu: {
        ...c,
        model: typeof c['model'] === 'string' ? c['model'] : '',
        dedicatedCPUPlacement: c['dedicatedCPUPlacement'] === true,
        isolateEmulatorThread: c['isolateEmulatorThread'] === true,
      },
    };
  }
  if (isObj(cpu) && cpu['preferredCPUTopology'] === '') {
    const { preferredCPUTopology: _dropped, ...rest } = cpu;
    return { ...spec, cpu: rest };
  }
  return spec;
}

/**
 * Extracts the v1beta1 spec of an instance type or preference from an object, a ControllerRevision,
 * a revision's `data`, or a bare spec. Throws SpecSourceError with a clear message on anything else.
 */
export function extractSpec(source: unknown, kind: SpecKind): Obj {
  const what = kind === 'instancetype' ? 'instance type' : 'preference';
  if (!isObj(source)) throw new SpecSourceError(kind, `${what}: expected an object`);
  if (source['kind'] === 'ControllerRevision') {
    const data = source['data'];
    if (!isObj(data)) throw new SpecSourceError(kind, `${what}: the ControllerRevision has no data object`);
    return extractSpec(data, kind);
  }
  if (!('apiVersion' in source) && !('kind' in source)) {
    // A bare spec.
    return source;
  }
  const version = versionOf(source['apiVersion'], what, kind);
  const spec = source['spec'];
  if (typeof spec === 'string') {
    // v1alpha1 VirtualMachine{Instancetype,Preference}SpecRevision: the spec is marshalled bytes.
    const decoded = decodeBase64Json(spec, what, kind);
    if (!isObj(decoded)) throw new SpecSourceError(kind, `${what}: the revision's spec is not an object`);
    return toV1beta1(decoded, version, kind);
  }
  const objKind = source['kind'];
  const kinds = kind === 'instancetype' ? INSTANCETYPE_KINDS : PREFERENCE_KINDS;
  if (typeof objKind !== 'string' || !kinds.has(objKind)) {
    throw new SpecSourceError(kind, `${what}: unexpected kind "${String(objKind)}" (expected ${[...kinds].join(' or ')})`);
  }
  if (!isObj(spec)) throw new SpecSourceError(kind, `${what}: ${objKind} has no spec object`);
  return toV1beta1(spec, version, kind);
}
