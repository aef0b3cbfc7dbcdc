// The defaults KubeVirt v1.9.0 sets while expanding (pkg/instancetype/expand, pkg/defaults):
// - before applying: a disk for every volume that has none, and the default pod interface when the
//   VM has no interfaces and no networks, so that the preference's disk bus / interface model reach
//   them (an expanded VM no longer has the preference to apply later);
// - after applying (only when asked, see ClusterDefaults): SetDefaultVirtualMachineInstanceSpec.
import { arr, ensureObj, num, type Obj, optObj, present, str } from './json-util.ts';
import { formatQuantity, parseQuantity, type Quantity, quantityFromInt, quantityValue } from './quantity.ts';

/** The KubeVirt configuration values that expansion defaults depend on. */
export interface ClusterDefaults {
  /** KubeVirt's default architecture (the cluster's, normally the nodes' arch). */
  architecture: string;
  /** spec.configuration.machineType / architectureConfiguration.<arch>.machineType; KubeVirt's defaults when absent. */
  machineType?: string;
  /** spec.configuration.evictionStrategy, if the cluster sets one. */
  evictionStrategy?: string;
  /** spec.configuration.network.defaultNetworkInterface: "bridge" (KubeVirt's default) or "masquerade". */
  defaultNetworkInterface?: 'bridge' | 'masquerade';
  /** developerConfiguration.memoryOvercommit in percent (default 100); only KubeVirt <= v1.6 uses it here. */
  memoryOvercommit?: number;
}

/** KubeVirt's built-in configuration on an amd64 cluster (virt-config defaults: eviction strategy None). */
export const KUBEVIRT_DEFAULTS: ClusterDefaults = { architecture: 'amd64', evictionStrategy: 'None', defaultNetworkInterface: 'bridge' };

const MACHINE_TYPE_BY_ARCH: Record<string, string> = { amd64: 'q35', arm64: 'virt', s390x: 's390-ccw-virtio' };

/** util.SetDefaultVolumeDisk: every volume without a disk or filesystem of its name gets a plain disk. */
export function setDefaultVolumeDisks(vmiSpec: Obj): void {
  const domain = ensureObj(vmiSpec, 'domain', 'spec.template.spec');
  const devices = optObj(domain['devices'], 'spec.template.spec.domain.devices');
  const disks = arr(devices?.['disks'], 'spec.template.spec.domain.devices.disks');
  const names = new Set<string>();
  for (const d of disks) names.add(str(optObj(d, 'spec.template.spec.domain.devices.disks[]')?.['name']));
  for (const f of arr(devices?.['filesystems'], 'spec.template.spec.domain.devices.filesystems')) names.add(str(optObj(f, 'spec.template.spec.domain.devices.filesystems[]')?.['name']));
  const added: Obj[] = [];
  for (const v of arr(vmiSpec['volumes'], 'spec.template.spec.volumes')) {
    const name = str(optObj(v, 'spec.template.spec.volumes[]')?.['name']);
    if (!names.has(name)) added.push({ name });
  }
  if (added.length === 0) return;
  ensureObj(domain, 'devices', 'spec.template.spec.domain')['disks'] = [...disks, ...added];
}

/** vmispec.SetDefaultNetworkInterface: the pod network with a bridge (or masquerade) interface. */
export function setDefaultNetworkInterface(vmiSpec: Obj, binding: 'bridge' | 'masquerade'): void {
  const domain = ensureObj(vmiSpec, 'domain', 'spec.template.spec');
  const devices = optObj(domain['devices'], 'spec.template.spec.domain.devices');
  if (devices?.['autoattachPodInterface'] === false) return;
  if (arr(vmiSpec['networks'], 'spec.template.spec.networks').length !== 0) return;
  if (arr(devices?.['interfaces'], 'spec.template.spec.domain.devices.interfaces').length !== 0) return;
  ensureObj(domain, 'devices', 'spec.template.spec.domain')['interfaces'] = [{ name: 'default', [binding]: {} }];
  vmiSpec['networks'] = [{ name: 'default', pod: {} }];
}

function isZeroQuantity(v: unknown): boolean {
  if (!present(v)) return true;
  try {
    return parseQuantity(v).mantissa === 0n;
  } catch {
    return true;
  }
}

/**
 * defaults.SetDefaultVirtualMachineInstanceSpec for the given cluster configuration. `v16` adds what
 * KubeVirt v1.6 also did there: a memory request from the memory limit, or from the guest memory
 * (or hugepage size) scaled by the cluster's memory overcommit.
 */
export function setClusterDefaults(vmiSpec: Obj, cfg: ClusterDefaults, v16 = false): void {
  if (str(vmiSpec['architecture']) === '') vmiSpec['architecture'] = cfg.architecture;
  const domain = ensureObj(vmiSpec, 'domain', 'spec.template.spec');
  const machineType = cfg.machineType ?? MACHINE_TYPE_BY_ARCH[str(vmiSpec['architecture'])] ?? MACHINE_TYPE_BY_ARCH['amd64'];
  const machine = ensureObj(domain, 'machine', 'spec.template.spec.domain');
  if (str(machine['type']) === '') machine['type'] = machineType;

  const resources = optObj(domain['resources'], 'spec.template.spec.domain.resources');
  const requests = optObj(resources?.['requests'], 'spec.template.spec.domain.resources.requests');
  const limits = optObj(resources?.['limits'], 'spec.template.spec.domain.resources.limits');
  if (!isZeroQuantity(limits?.['cpu']) && isZeroQuantity(requests?.['cpu']) && resources && limits) {
    ensureObj(resources, 'requests', 'spec.template.spec.domain.resources')['cpu'] = limits['cpu'];
  }

  if (v16) setV16MemoryRequest(domain, cfg.memoryOvercommit ?? 100);

  const memory = ensureObj(domain, 'memory', 'spec.template.spec.domain');
  if (!present(memory['guest'])) {
    const req = optObj(resources?.['requests'], 'spec.template.spec.domain.resources.requests')?.['memory'];
    if (!isZeroQuantity(req)) memory['guest'] = req;
    else if (!isZeroQuantity(limits?.['memory'])) memory['guest'] = limits?.['memory'];
    else {
      const hp = optObj(memory['hugepages'], 'spec.template.spec.domain.memory.hugepages');
      if (hp !== undefined) {
        try {
          parseQuantity(hp['pageSize']);
          memory['guest'] = hp['pageSize'];
        } catch {
          // KubeVirt ignores an unparsable page size here; validation rejects it later.
        }
      }
    }
  }

  const cpu = optObj(domain['cpu'], 'spec.template.spec.domain.cpu');
  if (cpu === undefined || (num(cpu['cores']) === 0 && num(cpu['sockets']) === 0 && num(cpu['threads']) === 0)) {
    const c = ensureObj(domain, 'cpu', 'spec.template.spec.domain');
    const reqs = optObj(optObj(domain['resources'], 'spec.template.spec.domain.resources')?.['requests'], 'spec.template.spec.domain.resources.requests');
    let sockets = 1;
    // Go takes the limit (or request) if the key exists, whatever its value.
    if (limits && Object.prototype.hasOwnProperty.call(limits, 'cpu')) sockets = cpuCount(limits['cpu']);
    else if (reqs && Object.prototype.hasOwnProperty.call(reqs, 'cpu')) sockets = cpuCount(reqs['cpu']);
    c['sockets'] = sockets;
    c['cores'] = 1;
    c['threads'] = 1;
  }

  for (const v of arr(vmiSpec['volumes'], 'spec.template.spec.volumes')) {
    const cd = optObj(optObj(v, 'spec.template.spec.volumes[]')?.['containerDisk'], 'spec.template.spec.volumes[].containerDisk');
    if (cd === undefined || str(cd['imagePullPolicy']) !== '') continue;
    const image = str(cd['image']);
    cd['imagePullPolicy'] = image.endsWith(':latest') || !/[:@]/.test(image) ? 'Always' : 'IfNotPresent';
  }
  if (!present(vmiSpec['evictionStrategy']) && cfg.evictionStrategy !== undefined) vmiSpec['evictionStrategy'] = cfg.evictionStrategy;
  setDefaultNetworkInterface(vmiSpec, cfg.defaultNetworkInterface ?? 'bridge');
  setDefaultVolumeDisks(vmiSpec);
}

function setV16MemoryRequest(domain: Obj, overcommit: number): void {
  const resources = ensureObj(domain, 'resources', 'spec.template.spec.domain');
  const limits = optObj(resources['limits'], 'spec.template.spec.domain.resources.limits');
  let requests = optObj(resources['requests'], 'spec.template.spec.domain.resources.requests');
  if (!isZeroQuantity(limits?.['memory']) && isZeroQuantity(requests?.['memory'])) {
    requests = ensureObj(resources, 'requests', 'spec.template.spec.domain.resources');
    requests['memory'] = limits?.['memory'];
  }
  if (requests !== undefined && Object.prototype.hasOwnProperty.call(requests, 'memory')) return;
  const memory = optObj(domain['memory'], 'spec.template.spec.domain.memory');
  let size: Quantity | undefined;
  let text: unknown;
  if (memory !== undefined && present(memory['guest'])) {
    text = memory['guest'];
    size = parseQuantity(text);
  } else {
    const hp = optObj(memory?.['hugepages'], 'spec.template.spec.domain.memory.hugepages');
    if (hp !== undefined) {
      try {
        text = hp['pageSize'];
        size = parseQuantity(text);
      } catch {
        size = undefined;
      }
    }
  }
  if (size === undefined || quantityValue(size) <= 0n) return;
  requests = ensureObj(resources, 'requests', 'spec.template.spec.domain.resources');
  requests['memory'] = overcommit === 100 ? text : formatQuantity(quantityFromInt((quantityValue(size) * 100n) / BigInt(overcommit), size.format));
}

/** uint32(quantity.Value()). */
function cpuCount(v: unknown): number {
  try {
    return Number(BigInt.asUintN(32, quantityValue(parseQuantity(v))));
  } catch {
    return 0;
  }
}
