// What a preference requires of the instance type or VM, and the spread-topology divisibility check,
// as KubeVirt's VM admission webhook enforces them (v1.9.0: preference/validation.CheckSpreadCPUTopology
// and preference/requirements). A VM failing them is rejected by KubeVirt, so expansion reports them.
import type { Conflict } from './conflict.ts';
import { SpreadRatioError } from './instancetype.ts';
import { num, type Obj, optObj, present, str } from './json-util.ts';
import { cmpQuantity, formatQuantity, parseQuantity, type Quantity } from './quantity.ts';
import { isSpread, preferredTopology, spreadOptions } from './topology.ts';

const GUEST_PATH = 'instancetype.spec.cpu.guest';

/** Checked before anything is applied: the instance type's vCPUs must divide by the spread ratio. */
export function checkSpreadTopology(it: Obj | undefined, pref: Obj | undefined): Conflict | undefined {
  if (it === undefined || !isSpread(preferredTopology(pref))) return undefined;
  const { ratio, across } = spreadOptions(pref);
  const guest = num(optObj(it['cpu'], 'instancetype.spec.cpu')?.['guest']);
  switch (across) {
    case 'SocketsCores':
      if (umod(guest, ratio) > 0) {
        return {
          path: GUEST_PATH,
          message:
            `${guest} vCPUs provided by the instance type are not divisible by the Spec.PreferSpreadSocketToCoreRatio ` +
            `or Spec.CPU.PreferSpreadOptions.Ratio of ${ratio} provided by the preference`,
        };
      }
      return undefined;
    case 'CoresThreads':
      if (umod(guest, ratio) > 0) {
        return { path: GUEST_PATH, message: `${guest} vCPUs provided by the instance type are not divisible by the number of threads per core ${ratio}` };
      }
      return undefined;
    case 'SocketsCoresThreads':
      // Evaluated in KubeVirt's order: an odd vCPU count is reported before the ratio is used.
      if (guest % 2 > 0 || umod(Math.floor(guest / 2), ratio) > 0) {
        return {
          path: GUEST_PATH,
          message:
            `${guest} vCPUs provided by the instance type are not divisible by the number of threads per core 2 ` +
            `and Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of ${ratio}`,
        };
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Go's uint32 remainder; by zero KubeVirt panics, reported as a conflict on the vCPUs. */
function umod(a: number, b: number): number {
  if (b === 0) throw new SpreadRatioError();
  return a % b;
}

/** Go's uint32 product (wraps like KubeVirt's does). */
function mul32(...xs: number[]): number {
  return xs.reduce((a, b) => Math.imul(a, b) >>> 0, 1);
}

/**
 * Checks the preference's requirements. `vmiSpec` must be the template spec after the instance type
 * and preference are applied and KubeVirt's defaults set (architecture, guest memory, topology).
 * Returns the conflict paths joined as KubeVirt prints them, and the message.
 */
export function checkRequirements(it: Obj | undefined, pref: Obj | undefined, vmiSpec: Obj, checkArchitecture = true): Conflict | undefined {
  const req = optObj(pref?.['requirements'], 'preference.spec.requirements');
  if (pref === undefined || req === undefined) return undefined;
  const domain = optObj(vmiSpec['domain'], 'spec.template.spec.domain') ?? {};

  const cpuReq = optObj(req['cpu'], 'preference.spec.requirements.cpu');
  if (cpuReq !== undefined) {
    const c = checkCPU(it, pref, num(cpuReq['guest']), optObj(domain['cpu'], 'spec.template.spec.domain.cpu'));
    if (c) return c;
  }
  const memReq = optObj(req['memory'], 'preference.spec.requirements.memory');
  if (memReq !== undefined) {
    const c = checkMemory(it, parseQuantity(memReq['guest'] ?? '0'), optObj(domain['memory'], 'spec.template.spec.domain.memory'));
    if (c) return c;
  }
  if (checkArchitecture && present(req['architecture'])) {
    const wanted = str(req['architecture']);
    const actual = str(vmiSpec['architecture']);
    if (actual !== wanted) {
      return { path: 'spec.template.spec.architecture', message: `preference requires architecture ${wanted} but ${actual} is being requested` };
    }
  }
  return undefined;
}

function checkCPU(it: Obj | undefined, pref: Obj, required: number, cpu: Obj | undefined): Conflict | undefined {
  if (it !== undefined) {
    const guest = num(optObj(it['cpu'], 'instancetype.spec.cpu')?.['guest']);
    if (guest < required) {
      return {
        path: 'spec.instancetype',
        message: `insufficient CPU resources of ${guest} vCPU provided by instance type, preference requires ${required} vCPU`,
      };
    }
    return undefined;
  }
  const base = 'spec.template.spec.domain.cpu';
  if (cpu === undefined) {
    return { path: base, message: `no CPU resources provided by VirtualMachine, preference requires ${required} vCPU` };
  }
  const sockets = num(cpu['sockets']);
  const cores = num(cpu['cores']);
  const threads = num(cpu['threads']);
  const vmMsg = (have: number, as: string): string =>
    `insufficient CPU resources of ${have} vCPU provided by VirtualMachine, preference requires ${required} vCPU provided as ${as}`;
  switch (preferredTopology(pref)) {
    case 'preferThreads':
    case 'threads':
      return threads < required ? { path: `${base}.threads`, message: vmMsg(threads, 'threads') } : undefined;
    case 'preferCores':
    case 'cores':
      return cores < required ? { path: `${base}.cores`, message: vmMsg(cores, 'cores') } : undefined;
    case 'preferSockets':
    case 'sockets':
      return sockets < required ? { path: `${base}.sockets`, message: vmMsg(sockets, 'sockets') } : undefined;
    case 'preferSpread':
    case 'spread': {
      const { across } = spreadOptions(pref);
      let have = 0;
      let paths: string[] = [];
      if (across === 'SocketsCores') {
        have = mul32(sockets, cores);
        paths = ['sockets', 'cores'];
      } else if (across === 'CoresThreads') {
        have = mul32(cores, threads);
        paths = ['cores', 'threads'];
      } else if (across === 'SocketsCoresThreads') {
        have = mul32(sockets, cores, threads);
        paths = ['sockets', 'cores', 'threads'];
      }
      if (have < required) return { path: paths.map((p) => `${base}.${p}`).join(', '), message: vmMsg(have, across) };
      return undefined;
    }
    case 'preferAny':
    case 'any': {
      const have = mul32(cores, sockets, threads);
      if (have < required) {
        return { path: `${base}.cores, ${base}.sockets, ${base}.threads`, message: vmMsg(have, 'cores, sockets and threads') };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function checkMemory(it: Obj | undefined, required: Quantity, memory: Obj | undefined): Conflict | undefined {
  let provided: Quantity = parseQuantity('0Mi');
  let path = 'spec.template.spec.domain.memory';
  let source = 'VirtualMachine';
  if (it !== undefined) {
    path = 'spec.instancetype';
    source = 'instance type';
    provided = parseQuantity(optObj(it['memory'], 'instancetype.spec.memory')?.['guest'] ?? '0');
  }
  if (memory !== undefined && present(memory['guest'])) provided = parseQuantity(memory['guest']);
  if (cmpQuantity(provided, required) < 0) {
    return {
      path,
      message: `insufficient Memory resources of ${formatQuantity(provided)} provided by ${source}, preference requires ${formatQuantity(required)}`,
    };
  }
  return undefined;
}
