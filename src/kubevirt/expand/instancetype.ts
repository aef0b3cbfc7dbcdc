// Applying an instance type to a VM's template (KubeVirt v1.9.0, pkg/instancetype/apply).
// Rule: an instance type owns the fields it defines; if the VM sets one of them too, that is a
// conflict reported at the VM field's path and nothing is applied. Each field group below is
// checked in KubeVirt's order and all groups' conflicts are collected.
import { type Conflict, instancetypeConflict } from './conflict.ts';
import { arr, bool, clone, ensureObj, num, type Obj, optObj, present, str } from './json-util.ts';
import { formatQuantity, parseQuantity, quantityFromInt, quantityValue } from './quantity.ts';
import type { KubevirtRelease } from './preference.ts';
import { preferredTopology, spreadOptions } from './topology.ts';

/** `base` is the path of the template spec, e.g. "spec.template.spec". */
export function applyInstancetype(base: string, it: Obj, pref: Obj | undefined, vmiSpec: Obj, templateMeta: Obj, release: KubevirtRelease = '1.9'): Conflict[] {
  const v16 = release === '1.6';
  const conflicts: Conflict[] = [];
  conflicts.push(...applyNodeSelector(base, it, vmiSpec));
  conflicts.push(...applySchedulerName(base, it, vmiSpec));
  conflicts.push(...applyCPU(base, it, pref, vmiSpec));
  conflicts.push(...applyMemory(base, it, vmiSpec, v16));
  // v1.6 does not apply the supplemental IO thread pool.
  if (!v16) conflicts.push(...applyIOThreads(base, it, vmiSpec));
  conflicts.push(...applyIOThreadsPolicy(base, it, vmiSpec));
  conflicts.push(...applyLaunchSecurity(base, it, vmiSpec));
  conflicts.push(...applyDeviceList(base, it, vmiSpec, 'gpus'));
  conflicts.push(...applyDeviceList(base, it, vmiSpec, 'hostDevices'));
  conflicts.push(...applyAnnotations(it, templateMeta));
  return conflicts;
}

function domainOf(vmiSpec: Obj, base: string): Obj {
  return ensureObj(vmiSpec, 'domain', base);
}

function applyNodeSelector(base: string, it: Obj, vmiSpec: Obj): Conflict[] {
  if (!present(it['nodeSelector'])) return [];
  if (present(vmiSpec['nodeSelector'])) return [instancetypeConflict(`${base}.nodeSelector`)];
  vmiSpec['nodeSelector'] = clone(it['nodeSelector']);
  return [];
}

function applySchedulerName(base: string, it: Obj, vmiSpec: Obj): Conflict[] {
  const name = str(it['schedulerName']);
  if (name === '') return [];
  if (str(vmiSpec['schedulerName']) !== '') return [instancetypeConflict(`${base}.schedulerName`)];
  vmiSpec['schedulerName'] = name;
  return [];
}

/** Go: `_, ok := resourceList[key]` (a key present with any value, even null, counts). */
function hasKey(map: unknown, key: string, path: string): boolean {
  return optObj(map, path) !== undefined && Object.prototype.hasOwnProperty.call(map, key);
}

function applyCPU(base: string, it: Obj, pref: Obj | undefined, vmiSpec: Obj): Conflict[] {
  const domain = domainOf(vmiSpec, base);
  const cpu = ensureObj(domain, 'cpu', `${base}.domain`);
  const itCPU = optObj(it['cpu'], 'instancetype.spec.cpu') ?? {};
  const resources = optObj(domain['resources'], `${base}.domain.resources`) ?? {};
  const p = `${base}.domain`;

  // All CPU conflicts are reported together, and then nothing is applied.
  const conflicts: Conflict[] = [];
  if (hasKey(resources['requests'], 'cpu', `${p}.resources.requests`)) conflicts.push(instancetypeConflict(`${p}.resources.requests.cpu`));
  if (hasKey(resources['limits'], 'cpu', `${p}.resources.limits`)) conflicts.push(instancetypeConflict(`${p}.resources.limits.cpu`));
  if (num(cpu['sockets']) !== 0) conflicts.push(instancetypeConflict(`${p}.cpu.sockets`));
  if (num(cpu['cores']) !== 0) conflicts.push(instancetypeConflict(`${p}.cpu.cores`));
  if (num(cpu['threads']) !== 0) conflicts.push(instancetypeConflict(`${p}.cpu.threads`));
  if (str(cpu['model']) !== '' && present(itCPU['model'])) conflicts.push(instancetypeConflict(`${p}.cpu.model`));
  if (bool(cpu['dedicatedCPUPlacement']) && present(itCPU['dedicatedCPUPlacement'])) {
    conflicts.push(instancetypeConflict(`${p}.cpu.dedicatedCPUPlacement`));
  }
  if (bool(cpu['isolateEmulatorThread']) && present(itCPU['isolateEmulatorThread'])) {
    conflicts.push(instancetypeConflict(`${p}.cpu.isolateEmulatorThread`));
  }
  if (present(cpu['numa']) && present(itCPU['numa'])) conflicts.push(instancetypeConflict(`${p}.cpu.numa`));
  if (present(cpu['realtime']) && present(itCPU['realtime'])) conflicts.push(instancetypeConflict(`${p}.cpu.realtime`));
  if (conflicts.length > 0) return conflicts;

  if (present(itCPU['model'])) cpu['model'] = itCPU['model'];
  if (present(itCPU['dedicatedCPUPlacement'])) cpu['dedicatedCPUPlacement'] = itCPU['dedicatedCPUPlacement'];
  if (present(itCPU['isolateEmulatorThread'])) cpu['isolateEmulatorThread'] = itCPU['isolateEmulatorThread'];
  if (present(itCPU['numa'])) cpu['numa'] = clone(itCPU['numa']);
  if (present(itCPU['realtime'])) cpu['realtime'] = clone(itCPU['realtime']);
  if (present(itCPU['maxSockets'])) cpu['maxSockets'] = itCPU['maxSockets'];
  applyGuestTopology(num(itCPU['guest']), pref, cpu);
  return [];
}

/** Splits the instance type's vCPUs into sockets/cores/threads following the preferred topology. */
function applyGuestTopology(vCPUs: number, pref: Obj | undefined, cpu: Obj): void {
  cpu['cores'] = 1;
  cpu['sockets'] = 1;
  cpu['threads'] = 1;
  if (vCPUs === 1) return;
  switch (preferredTopology(pref)) {
    case 'preferCores':
    case 'cores':
      cpu['cores'] = vCPUs;
      break;
    case 'preferSockets':
    case 'preferAny':
    case 'sockets':
    case 'any':
      cpu['sockets'] = vCPUs;
      break;
    case 'preferThreads':
    case 'threads':
      cpu['threads'] = vCPUs;
      break;
    case 'preferSpread':
    case 'spread': {
      const { ratio, across } = spreadOptions(pref);
      switch (across) {
        case 'SocketsCores':
          cpu['cores'] = ratio;
          cpu['sockets'] = udiv(vCPUs, ratio);
          break;
        case 'CoresThreads':
          cpu['threads'] = ratio;
          cpu['cores'] = udiv(vCPUs, ratio);
          break;
        case 'SocketsCoresThreads':
          cpu['threads'] = 2;
          cpu['cores'] = ratio;
          cpu['sockets'] = udiv(udiv(vCPUs, 2), ratio);
          break;
        default:
          break;
      }
      break;
    }
    default:
      // An unknown topology leaves 1/1/1, as KubeVirt does.
      break;
  }
}

/** Go's uint32 division; dividing by zero makes KubeVirt panic, reported here as a shape error. */
export function udiv(a: number, b: number): number {
  if (b === 0) throw new SpreadRatioError();
  return Math.floor(a / b);
}

export class SpreadRatioError extends Error {
  constructor() {
    super('the preference spread ratio is 0; KubeVirt cannot divide the vCPUs by it');
    this.name = 'SpreadRatioError';
  }
}

function applyMemory(base: string, it: Obj, vmiSpec: Obj, v16: boolean): Conflict[] {
  const domain = domainOf(vmiSpec, base);
  const itMem = optObj(it['memory'], 'instancetype.spec.memory') ?? {};
  const resources = optObj(domain['resources'], `${base}.domain.resources`) ?? {};
  const p = `${base}.domain`;
  // v1.6: any memory section in the VM conflicts, whatever it holds.
  if (v16 && present(domain['memory'])) return [instancetypeConflict(`${p}.memory`)];
  const memory = ensureObj(domain, 'memory', `${base}.domain`);

  // Only the first memory conflict is reported.
  if (present(memory['guest'])) return [instancetypeConflict(`${p}.memory.guest`)];
  if (present(memory['hugepages']) && present(itMem['hugepages'])) return [instancetypeConflict(`${p}.memory.hugepages`)];
  if (present(memory['maxGuest']) && present(itMem['maxGuest'])) return [instancetypeConflict(`${p}.memory.maxGuest`)];
  if (hasKey(resources['requests'], 'memory', `${p}.resources.requests`)) return [instancetypeConflict(`${p}.resources.requests.memory`)];
  if (hasKey(resources['limits'], 'memory', `${p}.resources.limits`)) return [instancetypeConflict(`${p}.resources.limits.memory`)];

  const guest = parseQuantity(itMem['guest'] ?? '0');
  memory['guest'] = formatQuantity(guest);

  const overcommit = num(itMem['overcommitPercent']);
  if (overcommit > 0) {
    // KubeVirt computes the pod's memory request in float32; reproduce it bit for bit.
    const f32 = Math.fround;
    const factor = f32(1 - f32(f32(overcommit) / 100));
    const requested = Math.trunc(f32(f32(Number(quantityValue(guest))) * factor));
    const res = ensureObj(domain, 'resources', `${base}.domain`);
    const requests = ensureObj(res, 'requests', `${base}.domain.resources`);
    requests['memory'] = formatQuantity(quantityFromInt(BigInt(requested), guest.format));
  }
  if (present(itMem['hugepages'])) memory['hugepages'] = clone(itMem['hugepages']);
  if (present(itMem['maxGuest'])) memory['maxGuest'] = formatQuantity(parseQuantity(itMem['maxGuest']));
  return [];
}

function applyIOThreads(base: string, it: Obj, vmiSpec: Obj): Conflict[] {
  const itThreads = optObj(it['ioThreads'], 'instancetype.spec.ioThreads');
  if (itThreads === undefined || !present(itThreads['supplementalPoolThreadCount'])) return [];
  const domain = domainOf(vmiSpec, base);
  const vmThreads = optObj(domain['ioThreads'], `${base}.domain.ioThreads`);
  if (vmThreads !== undefined && present(vmThreads['supplementalPoolThreadCount'])) {
    return [instancetypeConflict(`${base}.domain.ioThreads.supplementalPoolThreadCount`)];
  }
  ensureObj(domain, 'ioThreads', `${base}.domain`)['supplementalPoolThreadCount'] = itThreads['supplementalPoolThreadCount'];
  return [];
}

function applyIOThreadsPolicy(base: string, it: Obj, vmiSpec: Obj): Conflict[] {
  if (!present(it['ioThreadsPolicy'])) return [];
  const domain = domainOf(vmiSpec, base);
  if (present(domain['ioThreadsPolicy'])) return [instancetypeConflict(`${base}.domain.ioThreadsPolicy`)];
  domain['ioThreadsPolicy'] = it['ioThreadsPolicy'];
  return [];
}

function applyLaunchSecurity(base: string, it: Obj, vmiSpec: Obj): Conflict[] {
  if (!present(it['launchSecurity'])) return [];
  const domain = domainOf(vmiSpec, base);
  if (present(domain['launchSecurity'])) return [instancetypeConflict(`${base}.domain.launchSecurity`)];
  domain['launchSecurity'] = clone(it['launchSecurity']);
  return [];
}

/** GPUs and host devices: the instance type's list replaces an empty VM list, a non-empty one conflicts. */
function applyDeviceList(base: string, it: Obj, vmiSpec: Obj, key: 'gpus' | 'hostDevices'): Conflict[] {
  const list = arr(it[key], `instancetype.spec.${key}`);
  if (list.length === 0) return [];
  const devices = ensureObj(domainOf(vmiSpec, base), 'devices', `${base}.domain`);
  if (arr(devices[key], `${base}.domain.devices.${key}`).length > 0) {
    return [instancetypeConflict(`${base}.domain.devices.${key}`)];
  }
  devices[key] = clone(list);
  return [];
}

/**
 * Instance type annotations go onto the template's metadata; a key the VM already has with another
 * value is a conflict. KubeVirt reports this path without the spec prefix ("annotations.<key>") and,
 * iterating a Go map, in no fixed order.
 */
function applyAnnotations(it: Obj, templateMeta: Obj): Conflict[] {
  const wanted = optObj(it['annotations'], 'instancetype.spec.annotations');
  if (wanted === undefined) return [];
  const conflicts: Conflict[] = [];
  const entries = Object.entries(wanted);
  if (entries.length === 0) return [];
  const target = ensureObj(templateMeta, 'annotations', 'spec.template.metadata');
  for (const [key, value] of entries) {
    if (Object.prototype.hasOwnProperty.call(target, key)) {
      if (target[key] !== value) conflicts.push(instancetypeConflict(`annotations.${key}`));
      continue;
    }
    target[key] = value;
  }
  return conflicts;
}
