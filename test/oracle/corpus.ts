// Inputs for the differential test: a hand-written corpus of realistic instance types, preferences
// and VMs (u1/o1/cx1/m1/n1/rt1/gn1-style shapes, common OS preferences, VMs of the kinds users run),
// and a seeded random generator of valid combinations, many of which conflict on purpose.
// All definitions here are our own, written for this test.

export interface Case {
  id: string;
  vm: Record<string, unknown>;
  instancetype?: Record<string, unknown>;
  preference?: Record<string, unknown>;
}

type O = Record<string, unknown>;

/** Drops undefined values, as a JSON round trip (and the Go decoder) would. */
function plain<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

// ---------------------------------------------------------------------------------------------
// Hand-written corpus
// ---------------------------------------------------------------------------------------------

function it(cpu: O, memory: O, extra: O = {}): O {
  return { cpu, memory, ...extra };
}

const crioAnnotations = {
  'cpu-load-balancing.crio.io': 'disable',
  'cpu-quota.crio.io': 'disable',
  'irq-load-balancing.crio.io': 'disable',
};

export const INSTANCETYPES: Record<string, O> = {
  'u1.nano': it({ guest: 1 }, { guest: '512Mi' }),
  'u1.micro': it({ guest: 1 }, { guest: '1Gi' }),
  'u1.small': it({ guest: 1 }, { guest: '2Gi' }),
  'u1.medium': it({ guest: 1 }, { guest: '4Gi' }),
  'u1.2xmedium': it({ guest: 2 }, { guest: '4Gi' }),
  'u1.large': it({ guest: 2 }, { guest: '8Gi' }),
  'u1.xlarge': it({ guest: 4 }, { guest: '16Gi' }),
  'u1.2xlarge': it({ guest: 8 }, { guest: '32Gi' }),
  'u1.4xlarge': it({ guest: 16 }, { guest: '64Gi' }),
  'u1.8xlarge': it({ guest: 32 }, { guest: '128Gi' }),
  'o1.nano': it({ guest: 1 }, { guest: '512Mi', overcommitPercent: 50 }),
  'o1.small': it({ guest: 1 }, { guest: '2Gi', overcommitPercent: 50 }),
  'o1.medium': it({ guest: 1 }, { guest: '4Gi', overcommitPercent: 50 }),
  'o1.large': it({ guest: 2 }, { guest: '8Gi', overcommitPercent: 50 }),
  'o1.xlarge': it({ guest: 4 }, { guest: '16Gi', overcommitPercent: 50 }),
  'o1.odd': it({ guest: 3 }, { guest: '3000M', overcommitPercent: 33 }),
  'cx1.medium': it(
    { guest: 1, dedicatedCPUPlacement: true, isolateEmulatorThread: true, numa: { guestMappingPassthrough: {} } },
    { guest: '2Gi', hugepages: { pageSize: '2Mi' } },
  ),
  'cx1.large': it(
    { guest: 2, dedicatedCPUPlacement: true, isolateEmulatorThread: true, numa: { guestMappingPassthrough: {} } },
    { guest: '4Gi', hugepages: { pageSize: '2Mi' } },
  ),
  'cx1.2xlarge': it(
    { guest: 8, dedicatedCPUPlacement: true, isolateEmulatorThread: true, numa: { guestMappingPassthrough: {} } },
    { guest: '16Gi', hugepages: { pageSize: '2Mi' } },
    { ioThreadsPolicy: 'auto' },
  ),
  'cx1.4xlarge1gi': it(
    { guest: 16, dedicatedCPUPlacement: true, isolateEmulatorThread: true, numa: { guestMappingPassthrough: {} } },
    { guest: '32Gi', hugepages: { pageSize: '1Gi' } },
  ),
  'm1.large': it({ guest: 2 }, { guest: '16Gi', hugepages: { pageSize: '2Mi' } }),
  'm1.xlarge': it({ guest: 4 }, { guest: '32Gi', hugepages: { pageSize: '2Mi' } }),
  'm1.2xlarge1gi': it({ guest: 8 }, { guest: '64Gi', hugepages: { pageSize: '1Gi' } }),
  'n1.medium': it(
    { guest: 4, dedicatedCPUPlacement: true, isolateEmulatorThread: true },
    { guest: '4Gi', hugepages: { pageSize: '1Gi' } },
    { annotations: crioAnnotations },
  ),
  'n1.2xlarge': it(
    { guest: 16, dedicatedCPUPlacement: true, isolateEmulatorThread: true },
    { guest: '32Gi', hugepages: { pageSize: '1Gi' } },
    { annotations: crioAnnotations },
  ),
  'rt1.medium': it(
    { guest: 4, dedicatedCPUPlacement: true, isolateEmulatorThread: true, numa: { guestMappingPassthrough: {} }, realtime: { mask: '0-3' } },
    { guest: '4Gi', hugepages: { pageSize: '1Gi' } },
  ),
  'gn1.xlarge': it({ guest: 4 }, { guest: '16Gi' }, { gpus: [{ name: 'gpu1', deviceName: 'nvidia.com/A400' }] }),
  'gn1.8xlarge': it(
    { guest: 32 },
    { guest: '128Gi' },
    {
      gpus: [
        { name: 'gpu1', deviceName: 'nvidia.com/A400' },
        { name: 'gpu2', deviceName: 'nvidia.com/A400' },
      ],
    },
  ),
  'hd1.large': it({ guest: 2 }, { guest: '8Gi' }, { hostDevices: [{ name: 'nic1', deviceName: 'intel.com/sriov' }] }),
  'sev1.large': it({ guest: 2, model: 'EPYC' }, { guest: '8Gi' }, { launchSecurity: { sev: {} } }),
  'hot1.large': it({ guest: 2, maxSockets: 8, model: 'host-passthrough' }, { guest: '8Gi', maxGuest: '32Gi' }),
  'io1.large': it({ guest: 2 }, { guest: '8Gi' }, { ioThreadsPolicy: 'supplementalPool', ioThreads: { supplementalPoolThreadCount: 4 } }),
  'sched1.small': it({ guest: 1 }, { guest: '2Gi' }, { schedulerName: 'my-scheduler', nodeSelector: { 'node-role.kubernetes.io/worker': '' } }),
};

const virtioDevices = {
  preferredDiskBus: 'virtio',
  preferredInterfaceModel: 'virtio',
  preferredRng: {},
};

export const PREFERENCES: Record<string, O> = {
  fedora: {
    annotations: { 'vm.kubevirt.io/os': 'linux' },
    devices: { ...virtioDevices, preferredNetworkInterfaceMultiQueue: true },
    features: { preferredSmm: {} },
    firmware: { preferredEfi: { secureBoot: true } },
    requirements: { cpu: { guest: 1 }, memory: { guest: '2Gi' } },
  },
  'rhel.9': {
    annotations: { 'vm.kubevirt.io/os': 'linux' },
    cpu: { spreadOptions: {} },
    devices: { ...virtioDevices, preferredDiskDedicatedIoThread: true },
    preferredArchitecture: 'amd64',
    requirements: { cpu: { guest: 1 }, memory: { guest: '1.5Gi' } },
  },
  'rhel.8': {
    devices: { ...virtioDevices },
    requirements: { cpu: { guest: 1 }, memory: { guest: '1.5Gi' } },
  },
  'centos.stream9': {
    devices: { ...virtioDevices },
    requirements: { cpu: { guest: 1 }, memory: { guest: '1.5Gi' } },
  },
  ubuntu: {
    devices: { ...virtioDevices, preferredAutoattachInputDevice: true, preferredInputBus: 'virtio', preferredInputType: 'tablet' },
    requirements: { cpu: { guest: 1 }, memory: { guest: '1.5Gi' } },
  },
  debian: { devices: { ...virtioDevices }, requirements: { memory: { guest: '1Gi' } } },
  'opensuse.tumbleweed': { devices: { ...virtioDevices, preferredDiskCache: 'writeback' }, requirements: { memory: { guest: '1Gi' } } },
  alpine: { devices: { ...virtioDevices }, requirements: { memory: { guest: '512Mi' } } },
  cirros: { devices: { preferredDiskBus: 'virtio', preferredInterfaceModel: 'virtio' }, requirements: { memory: { guest: '64Mi' } } },
  'windows.11': {
    clock: {
      preferredClockOffset: { utc: {} },
      preferredTimer: { hpet: { present: false }, hyperv: {}, pit: { tickPolicy: 'delay' }, rtc: { tickPolicy: 'catchup' } },
    },
    cpu: { preferredCPUTopology: 'sockets' },
    devices: {
      preferredAutoattachInputDevice: true,
      preferredDiskBus: 'sata',
      preferredCdromBus: 'sata',
      preferredInputBus: 'usb',
      preferredInputType: 'tablet',
      preferredInterfaceModel: 'e1000e',
      preferredTPM: { persistent: true },
      preferredSoundModel: 'ich9',
    },
    features: {
      preferredAcpi: {},
      preferredApic: {},
      preferredHyperv: {
        frequencies: {},
        ipi: {},
        reenlightenment: {},
        relaxed: {},
        reset: {},
        runtime: {},
        spinlocks: { spinlocks: 8191 },
        synic: {},
        synictimer: { direct: {} },
        tlbflush: {},
        vapic: {},
        vpindex: {},
      },
      preferredSmm: {},
    },
    firmware: { preferredEfi: { secureBoot: true, persistent: true } },
    preferredTerminationGracePeriodSeconds: 3600,
    requirements: { cpu: { guest: 2 }, memory: { guest: '4Gi' } },
  },
  'windows.2k22.virtio': {
    clock: { preferredClockOffset: { utc: {} }, preferredTimer: { hpet: { present: false }, hyperv: {} } },
    devices: {
      preferredDiskBus: 'virtio',
      preferredInterfaceModel: 'virtio',
      preferredTPM: {},
      preferredPanicDeviceModel: 'hyperv',
      preferredUseVirtioTransitional: false,
    },
    features: { preferredAcpi: {}, preferredApic: {}, preferredHyperv: { relaxed: {}, vapic: {}, spinlocks: { spinlocks: 8191 } }, preferredSmm: {} },
    firmware: { preferredEfi: { secureBoot: true } },
    preferredTerminationGracePeriodSeconds: 3600,
    requirements: { cpu: { guest: 1 }, memory: { guest: '2Gi' } },
  },
  'windows.10': {
    devices: { preferredDiskBus: 'sata', preferredInterfaceModel: 'e1000e', preferredInputBus: 'usb', preferredInputType: 'tablet' },
    features: { preferredAcpi: {}, preferredApic: {}, preferredHyperv: { relaxed: {}, vapic: {} } },
    firmware: { preferredUseBios: true },
    clock: { preferredClockOffset: { timezone: 'Europe/Prague' } },
  },
  legacy: {
    devices: { preferredDiskBus: 'sata', preferredInterfaceModel: 'e1000', preferredVideoType: 'vga', preferredDisableHotplug: true },
    firmware: { preferredUseBios: true, preferredUseBiosSerial: true },
    machine: { preferredMachineType: 'pc-q35-rhel8.6.0' },
  },
  'spread.sockets-cores': { cpu: { preferredCPUTopology: 'spread', spreadOptions: { ratio: 2, across: 'SocketsCores' } } },
  'spread.cores-threads': { cpu: { preferredCPUTopology: 'spread', spreadOptions: { across: 'CoresThreads' } } },
  'spread.sct': { cpu: { preferredCPUTopology: 'spread', spreadOptions: { across: 'SocketsCoresThreads', ratio: 2 } } },
  'threads.dev': { cpu: { preferredCPUTopology: 'threads', preferredCPUFeatures: [{ name: 'vmx', policy: 'require' }] }, preferredSubdomain: 'dev' },
  'cores.legacy-names': { cpu: { preferredCPUTopology: 'preferCores' }, firmware: { preferredUseEfi: true, preferredUseSecureBoot: false } },
  'any.arm': { cpu: { preferredCPUTopology: 'any' }, preferredArchitecture: 'arm64', requirements: { architecture: 'arm64' } },
  'sev.preferred': { preferredLaunchSecurity: { sev: {} }, devices: { preferredInterfaceMasquerade: {} } },
};

const baseMeta = { name: 'vm', namespace: 'ns' };

function vmWith(templateSpec: O, extra: O = {}, templateMeta: O = {}): O {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { ...baseMeta, labels: { app: 'demo' } },
    spec: {
      runStrategy: 'Always',
      instancetype: { name: 'placeholder', kind: 'VirtualMachineClusterInstancetype' },
      preference: { name: 'placeholder', kind: 'VirtualMachineClusterPreference' },
      template: { metadata: { labels: { 'kubevirt.io/domain': 'vm' }, ...templateMeta }, spec: templateSpec },
      ...extra,
    },
    status: {
      instancetypeRef: { name: 'placeholder', kind: 'VirtualMachineClusterInstancetype', controllerRevisionRef: { name: 'vm-placeholder-1' } },
      preferenceRef: { name: 'placeholder', kind: 'VirtualMachineClusterPreference', controllerRevisionRef: { name: 'vm-placeholder-pref-1' } },
    },
  };
}

export const VMS: Record<string, O> = {
  containerdisk: vmWith({
    domain: { devices: {} },
    volumes: [{ name: 'containerdisk', containerDisk: { image: 'quay.io/containerdisks/fedora:40' } }],
  }),
  'datavolume-cloudinit': vmWith(
    {
      domain: { devices: { disks: [{ name: 'rootdisk', disk: {} }, { name: 'cloudinit' }] } },
      volumes: [
        { name: 'rootdisk', dataVolume: { name: 'vm-root' } },
        { name: 'cloudinit', cloudInitNoCloud: { userData: '#cloud-config\n' } },
      ],
    },
    {
      dataVolumeTemplates: [
        { metadata: { name: 'vm-root' }, spec: { sourceRef: { kind: 'DataSource', name: 'fedora' }, storage: { resources: { requests: { storage: '30Gi' } } } } },
      ],
    },
  ),
  'multi-device': vmWith({
    domain: {
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'scsi' }, bootOrder: 1 },
          { name: 'iso', cdrom: {} },
          { name: 'shared', lun: {} },
          { name: 'data', disk: {}, cache: 'none' },
        ],
        interfaces: [{ name: 'default', masquerade: {} }, { name: 'secondary', bridge: {} }, { name: 'plain' }],
        inputs: [{ name: 'tablet', type: 'tablet' }, { name: 'kbd', bus: 'usb', type: 'keyboard' }],
        sound: { name: 'audio' },
        panicDevices: [{}, { model: 'isa' }],
      },
    },
    networks: [
      { name: 'default', pod: {} },
      { name: 'secondary', multus: { networkName: 'br1' } },
      { name: 'plain', pod: {} },
    ],
    volumes: [
      { name: 'root', persistentVolumeClaim: { claimName: 'root' } },
      { name: 'iso', persistentVolumeClaim: { claimName: 'iso' } },
      { name: 'shared', persistentVolumeClaim: { claimName: 'shared' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'extra', emptyDisk: { capacity: '1Gi' } },
    ],
  }),
  'user-choices': vmWith(
    {
      architecture: 'amd64',
      subdomain: 'mine',
      terminationGracePeriodSeconds: 30,
      domain: {
        clock: { timezone: 'UTC', timer: { rtc: {} } },
        features: { acpi: { enabled: false }, smm: { enabled: false }, hyperv: { relaxed: { enabled: false } } },
        firmware: { bootloader: { bios: {} }, uuid: '5d307ca9-b3ef-428c-8861-06e72d69f223' },
        machine: { type: 'q35' },
        devices: { tpm: {}, rng: {}, autoattachInputDevice: false, useVirtioTransitional: true, disks: [{ name: 'root', disk: { bus: 'sata' }, io: 'native' }] },
      },
      volumes: [{ name: 'root', containerDisk: { image: 'quay.io/containerdisks/centos-stream:9' } }],
    },
    {},
    { annotations: { 'vm.kubevirt.io/os': 'custom', 'cpu-quota.crio.io': 'disable' } },
  ),
  'conflicting-cpu': vmWith({
    domain: { cpu: { sockets: 2, model: 'host-model' }, resources: { requests: { cpu: '2', memory: '2Gi' } }, devices: {} },
  }),
  'conflicting-memory': vmWith({ domain: { memory: { guest: '1Gi' }, devices: {} } }),
  'conflicting-devices': vmWith({
    nodeSelector: { disk: 'ssd' },
    schedulerName: 'other',
    domain: {
      ioThreadsPolicy: 'shared',
      launchSecurity: {},
      devices: { gpus: [{ name: 'g', deviceName: 'x/y' }], hostDevices: [{ name: 'h', deviceName: 'a/b' }] },
    },
  }),
  'no-pod-interface': vmWith({ domain: { devices: { autoattachPodInterface: false } }, volumes: [] }),
  'cpu-features': vmWith({ domain: { cpu: { features: [{ name: 'vmx', policy: 'disable' }] }, devices: {} } }),
};

/** Every VM with every instance type and preference, plus instance-type-only and preference-only VMs. */
export function handWrittenCorpus(): Case[] {
  const cases: Case[] = [];
  for (const [vmName, vm] of Object.entries(VMS)) {
    for (const [itName, itSpec] of Object.entries(INSTANCETYPES)) {
      for (const [prefName, prefSpec] of Object.entries(PREFERENCES)) {
        cases.push(plain({ id: `hand/${vmName}/${itName}/${prefName}`, vm, instancetype: itSpec, preference: prefSpec }));
      }
      const onlyIt = structuredClone(vm) as { spec: O };
      delete onlyIt.spec['preference'];
      cases.push(plain({ id: `hand/${vmName}/${itName}/-`, vm: onlyIt, instancetype: itSpec }));
    }
    for (const [prefName, prefSpec] of Object.entries(PREFERENCES)) {
      const onlyPref = structuredClone(vm) as { spec: O };
      delete onlyPref.spec['instancetype'];
      cases.push(plain({ id: `hand/${vmName}/-/${prefName}`, vm: onlyPref, preference: prefSpec }));
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Random corpus
// ---------------------------------------------------------------------------------------------

/** mulberry32: small, fast, seeded; the same seed always gives the same corpus. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(private readonly r: () => number) {}
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)] as T;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  maybe<T>(p: number, f: () => T): T | undefined {
    return this.chance(p) ? f() : undefined;
  }
  bool(): boolean {
    return this.chance(0.5);
  }
  r01(): number {
    return this.r();
  }
}

const MEMORY = ['64Mi', '128Mi', '512Mi', '1Gi', '1536Mi', '2Gi', '2G', '3000M', '4Gi', '1.5Gi', '8Gi', '16Gi', '1000000Ki', '1073741824', '0.5Gi'];
const TOPOLOGIES = ['sockets', 'cores', 'threads', 'spread', 'any', 'preferSockets', 'preferCores', 'preferThreads', 'preferSpread', 'preferAny'];
const ACROSS = ['SocketsCores', 'CoresThreads', 'SocketsCoresThreads'];
const DISK_BUS = ['virtio', 'sata', 'scsi', 'usb'];
const ANNOTATION_KEYS = ['a.example.com/one', 'a.example.com/two', 'cpu-quota.crio.io'];
const ANNOTATION_VALUES = ['x', 'y', 'disable'];
const FEATURE_NAMES = ['vmx', 'pcid', 'ssbd', 'svm'];

function annotations(g: Gen): O {
  const out: O = {};
  for (const k of ANNOTATION_KEYS) if (g.chance(0.4)) out[k] = g.pick(ANNOTATION_VALUES);
  return out;
}

function featureState(g: Gen): O {
  return g.chance(0.5) ? {} : { enabled: g.bool() };
}

export function randomInstancetype(g: Gen): O {
  return {
    cpu: {
      guest: g.pick([1, 1, 2, 2, 3, 4, 4, 6, 8, 12, 16]),
      model: g.maybe(0.2, () => g.pick(['host-passthrough', 'Skylake-Server', 'EPYC'])),
      dedicatedCPUPlacement: g.maybe(0.15, () => g.bool()),
      isolateEmulatorThread: g.maybe(0.1, () => g.bool()),
      numa: g.maybe(0.1, () => ({ guestMappingPassthrough: {} })),
      realtime: g.maybe(0.05, () => (g.bool() ? {} : { mask: '0-1' })),
      maxSockets: g.maybe(0.1, () => g.int(1, 16)),
    },
    memory: {
      guest: g.pick(MEMORY),
      hugepages: g.maybe(0.15, () => ({ pageSize: g.pick(['2Mi', '1Gi']) })),
      overcommitPercent: g.maybe(0.25, () => g.int(0, 100)),
      maxGuest: g.maybe(0.1, () => g.pick(MEMORY)),
    },
    gpus: g.maybe(0.08, () => [{ name: 'gpu', deviceName: 'nvidia.com/T4' }]),
    hostDevices: g.maybe(0.08, () => [{ name: 'hd', deviceName: 'intel.com/qat' }]),
    ioThreadsPolicy: g.maybe(0.1, () => g.pick(['auto', 'shared', 'supplementalPool'])),
    ioThreads: g.maybe(0.08, () => (g.bool() ? {} : { supplementalPoolThreadCount: g.int(1, 8) })),
    launchSecurity: g.maybe(0.05, () => (g.bool() ? { sev: {} } : {})),
    annotations: g.maybe(0.2, () => annotations(g)),
    nodeSelector: g.maybe(0.1, () => (g.bool() ? {} : { zone: 'a' })),
    schedulerName: g.maybe(0.1, () => g.pick(['', 'custom-scheduler'])),
  };
}

export function randomPreference(g: Gen): O {
  return {
    cpu: g.maybe(0.5, () => ({
      preferredCPUTopology: g.maybe(0.8, () => g.pick(TOPOLOGIES)),
      spreadOptions: g.maybe(0.3, () => ({ across: g.maybe(0.7, () => g.pick(ACROSS)), ratio: g.maybe(0.5, () => (g.chance(0.05) ? 0 : g.int(1, 4))) })),
      preferredCPUFeatures: g.maybe(0.2, () => [
        { name: g.pick(FEATURE_NAMES), policy: 'require' },
        ...(g.bool() ? [{ name: g.pick(FEATURE_NAMES) }] : []),
      ]),
    })),
    preferSpreadSocketToCoreRatio: g.maybe(0.1, () => g.int(1, 4)),
    devices: g.maybe(0.6, () => ({
      preferredAutoattachGraphicsDevice: g.maybe(0.15, () => g.bool()),
      preferredAutoattachMemBalloon: g.maybe(0.15, () => g.bool()),
      preferredAutoattachPodInterface: g.maybe(0.1, () => g.bool()),
      preferredAutoattachSerialConsole: g.maybe(0.15, () => g.bool()),
      preferredAutoattachInputDevice: g.maybe(0.15, () => g.bool()),
      preferredDisableHotplug: g.maybe(0.1, () => g.bool()),
      preferredSoundModel: g.maybe(0.15, () => g.pick(['ich9', 'ac97'])),
      preferredUseVirtioTransitional: g.maybe(0.1, () => g.bool()),
      preferredInputBus: g.maybe(0.2, () => g.pick(['usb', 'virtio'])),
      preferredInputType: g.maybe(0.2, () => 'tablet'),
      preferredDiskBus: g.maybe(0.5, () => g.pick(DISK_BUS)),
      preferredLunBus: g.maybe(0.15, () => g.pick(['sata', 'scsi'])),
      preferredCdromBus: g.maybe(0.2, () => g.pick(['sata', 'scsi'])),
      preferredDiskDedicatedIoThread: g.maybe(0.2, () => g.bool()),
      preferredDiskCache: g.maybe(0.15, () => g.pick(['none', 'writethrough', 'writeback'])),
      preferredDiskIO: g.maybe(0.15, () => g.pick(['native', 'threads'])),
      preferredDiskBlockSize: g.maybe(0.1, () => (g.bool() ? { matchVolume: { enabled: true } } : { custom: { logical: 512, physical: 4096 } })),
      preferredInterfaceModel: g.maybe(0.4, () => g.pick(['virtio', 'e1000e', 'e1000'])),
      preferredRng: g.maybe(0.2, () => ({})),
      preferredBlockMultiQueue: g.maybe(0.1, () => g.bool()),
      preferredNetworkInterfaceMultiQueue: g.maybe(0.1, () => g.bool()),
      preferredTPM: g.maybe(0.15, () => (g.bool() ? {} : { persistent: true })),
      preferredInterfaceMasquerade: g.maybe(0.15, () => ({})),
      preferredPanicDeviceModel: g.maybe(0.15, () => g.pick(['hyperv', 'isa', 'pvpanic'])),
      preferredVideoType: g.maybe(0.15, () => g.pick(['virtio', 'vga', 'bochs'])),
    })),
    features: g.maybe(0.3, () => ({
      preferredAcpi: g.maybe(0.4, () => featureState(g)),
      preferredApic: g.maybe(0.3, () => (g.bool() ? {} : { enabled: true, endOfInterrupt: g.bool() })),
      preferredHyperv: g.maybe(0.4, () => ({
        relaxed: g.maybe(0.5, () => featureState(g)),
        vapic: g.maybe(0.5, () => featureState(g)),
        spinlocks: g.maybe(0.3, () => ({ spinlocks: 8191 })),
        synictimer: g.maybe(0.2, () => ({ direct: {} })),
        vendorid: g.maybe(0.1, () => ({ vendorid: 'KubeVirt' })),
        evmcs: g.maybe(0.1, () => ({})),
        frequencies: g.maybe(0.2, () => featureState(g)),
        ipi: g.maybe(0.2, () => featureState(g)),
        reenlightenment: g.maybe(0.2, () => featureState(g)),
        reset: g.maybe(0.2, () => featureState(g)),
        runtime: g.maybe(0.2, () => featureState(g)),
        synic: g.maybe(0.2, () => featureState(g)),
        tlbflush: g.maybe(0.2, () => (g.bool() ? {} : { enabled: true, direct: {}, extended: {} })),
        vpindex: g.maybe(0.2, () => featureState(g)),
      })),
      preferredKvm: g.maybe(0.2, () => ({ hidden: g.bool() })),
      preferredPvspinlock: g.maybe(0.2, () => featureState(g)),
      preferredSmm: g.maybe(0.3, () => featureState(g)),
    })),
    firmware: g.maybe(0.35, () => ({
      preferredUseBios: g.maybe(0.3, () => g.bool()),
      preferredUseBiosSerial: g.maybe(0.2, () => g.bool()),
      preferredUseEfi: g.maybe(0.3, () => g.bool()),
      preferredUseSecureBoot: g.maybe(0.3, () => g.bool()),
      preferredEfi: g.maybe(0.3, () => (g.bool() ? {} : { secureBoot: g.bool(), persistent: g.bool() })),
    })),
    machine: g.maybe(0.2, () => ({ preferredMachineType: g.pick(['', 'q35', 'pc-q35-rhel9.4.0']) })),
    clock: g.maybe(0.25, () => ({
      preferredClockOffset: g.maybe(0.6, () => (g.bool() ? { utc: g.bool() ? {} : { offsetSeconds: 3600 } } : { timezone: 'Europe/Berlin' })),
      preferredTimer: g.maybe(0.5, () => ({ hpet: { present: false }, pit: { tickPolicy: 'delay' } })),
    })),
    volumes: g.maybe(0.25, () => ({ preferredStorageClassName: g.pick(['fast', '']) })),
    preferredSubdomain: g.maybe(0.15, () => g.pick(['', 'sub'])),
    preferredTerminationGracePeriodSeconds: g.maybe(0.2, () => g.pick([0, 30, 180, 3600])),
    requirements: g.maybe(0.25, () => ({
      cpu: g.maybe(0.5, () => ({ guest: g.int(1, 8) })),
      memory: g.maybe(0.5, () => ({ guest: g.pick(MEMORY) })),
      architecture: g.maybe(0.2, () => g.pick(['amd64', 'arm64'])),
    })),
    annotations: g.maybe(0.2, () => annotations(g)),
    preferredArchitecture: g.maybe(0.15, () => g.pick(['', 'amd64', 'arm64'])),
    preferredLaunchSecurity: g.maybe(0.05, () => ({ sev: {} })),
  };
}

function randomDisk(g: Gen, name: string): O {
  const target = g.pick(['disk', 'disk', 'cdrom', 'lun', 'none']);
  const disk: O = { name };
  if (target !== 'none') disk[target] = g.chance(0.4) ? { bus: g.pick(target === 'disk' ? DISK_BUS : ['sata', 'scsi']) } : {};
  if (g.chance(0.1)) disk['cache'] = 'none';
  if (g.chance(0.1)) disk['io'] = 'threads';
  if (g.chance(0.1)) disk['dedicatedIOThread'] = g.bool();
  if (g.chance(0.05)) disk['blockSize'] = { custom: { logical: 4096, physical: 4096 } };
  return disk;
}

function randomVM(g: Gen, hasIt: boolean, hasPref: boolean): O {
  const diskCount = g.int(0, 4);
  const disks = Array.from({ length: diskCount }, (_, i) => randomDisk(g, `disk${i}`));
  const volumes = disks.filter(() => g.chance(0.8)).map((d) => ({ name: d['name'], containerDisk: { image: 'quay.io/x/y:1' } }));
  if (g.chance(0.4)) volumes.push({ name: 'cloudinit', cloudInitNoCloud: { userData: '#cloud-config' } } as never);
  if (g.chance(0.1)) volumes.push({ name: 'fs', persistentVolumeClaim: { claimName: 'fs' } } as never);
  const fsList = volumes.some((v) => v.name === 'fs') && g.bool() ? [{ name: 'fs', virtiofs: {} }] : undefined;

  const ifaceCount = g.pick([0, 0, 1, 1, 2, 3]);
  const interfaces = Array.from({ length: ifaceCount }, (_, i) => {
    const iface: O = { name: i === 0 ? 'default' : `net${i}` };
    const binding = g.pick(['none', 'none', 'bridge', 'masquerade', 'sriov', 'binding', 'slirp', 'macvtap', 'passt', 'passtBinding']);
    if (binding === 'binding') iface['binding'] = { name: 'passt' };
    else if (binding !== 'none') iface[binding] = {};
    if (g.chance(0.3)) iface['model'] = g.pick(['virtio', 'e1000']);
    return iface;
  });
  const networks = interfaces
    .filter(() => g.chance(0.85))
    .map((iface) => (g.chance(0.7) ? { name: iface['name'], pod: {} } : { name: iface['name'], multus: { networkName: 'n' } }));

  const devices: O = {
    disks: diskCount > 0 || g.bool() ? disks : undefined,
    filesystems: fsList,
    interfaces: ifaceCount > 0 ? interfaces : undefined,
    inputs: g.maybe(0.2, () => [{ name: 'i0', ...(g.bool() ? { bus: 'usb' } : {}), ...(g.bool() ? { type: 'tablet' } : {}) }]),
    sound: g.maybe(0.1, () => ({ name: 's', ...(g.bool() ? { model: 'ac97' } : {}) })),
    rng: g.maybe(0.1, () => ({})),
    tpm: g.maybe(0.1, () => ({})),
    video: g.maybe(0.08, () => (g.bool() ? {} : { type: 'vga' })),
    panicDevices: g.maybe(0.1, () => [g.bool() ? {} : { model: 'isa' }]),
    autoattachPodInterface: g.maybe(0.1, () => g.bool()),
    autoattachGraphicsDevice: g.maybe(0.1, () => g.bool()),
    autoattachInputDevice: g.maybe(0.1, () => g.bool()),
    useVirtioTransitional: g.maybe(0.05, () => g.bool()),
    blockMultiQueue: g.maybe(0.05, () => g.bool()),
    disableHotplug: g.maybe(0.05, () => g.bool()),
    gpus: g.maybe(0.05, () => (g.bool() ? [] : [{ name: 'g', deviceName: 'nvidia.com/T4' }])),
    hostDevices: g.maybe(0.05, () => [{ name: 'h', deviceName: 'x/y' }]),
  };

  const domain: O = {
    devices,
    cpu: g.maybe(0.4, () => ({
      sockets: g.maybe(0.1, () => g.int(1, 4)),
      cores: g.maybe(0.1, () => g.int(1, 4)),
      threads: g.maybe(0.08, () => g.int(1, 2)),
      model: g.maybe(0.15, () => g.pick(['host-model', 'Haswell'])),
      dedicatedCPUPlacement: g.maybe(0.08, () => g.bool()),
      isolateEmulatorThread: g.maybe(0.05, () => g.bool()),
      numa: g.maybe(0.05, () => ({ guestMappingPassthrough: {} })),
      realtime: g.maybe(0.03, () => ({})),
      features: g.maybe(0.2, () => [{ name: g.pick(FEATURE_NAMES), policy: 'disable' }]),
      maxSockets: g.maybe(0.05, () => 4),
    })),
    memory: g.maybe(0.25, () => ({
      guest: g.maybe(0.3, () => g.pick(MEMORY)),
      hugepages: g.maybe(0.3, () => ({ pageSize: '2Mi' })),
      maxGuest: g.maybe(0.2, () => g.pick(MEMORY)),
    })),
    resources: g.maybe(0.3, () => ({
      requests: g.maybe(0.5, () => ({
        memory: g.maybe(0.4, () => g.pick(MEMORY)),
        cpu: g.maybe(0.3, () => g.pick(['1', '500m', '2'])),
      })),
      limits: g.maybe(0.3, () => ({ memory: g.maybe(0.4, () => g.pick(MEMORY)), cpu: g.maybe(0.3, () => g.pick(['1', '2'])) })),
    })),
    features: g.maybe(0.2, () => ({
      acpi: g.maybe(0.3, () => featureState(g)),
      apic: g.maybe(0.3, () => ({})),
      smm: g.maybe(0.3, () => featureState(g)),
      hyperv: g.maybe(0.3, () => ({
        relaxed: g.maybe(0.5, () => featureState(g)),
        ipi: g.maybe(0.3, () => featureState(g)),
        tlbflush: g.maybe(0.3, () => ({})),
        vendorid: g.maybe(0.2, () => ({ vendorid: 'Mine' })),
        synic: g.maybe(0.3, () => featureState(g)),
      })),
      kvm: g.maybe(0.1, () => ({ hidden: true })),
      pvspinlock: g.maybe(0.1, () => ({})),
    })),
    firmware: g.maybe(0.2, () => ({
      bootloader: g.maybe(0.6, () => g.pick([{}, { bios: {} }, { bios: { useSerial: true } }, { efi: {} }, { efi: { secureBoot: false } }])),
      serial: g.maybe(0.2, () => 'abc'),
    })),
    machine: g.maybe(0.15, () => ({ type: g.pick(['', 'q35']) })),
    clock: g.maybe(0.15, () => ({
      ...(g.bool() ? { utc: {} } : {}),
      ...(g.chance(0.3) ? { timezone: 'UTC' } : {}),
      timer: g.maybe(0.3, () => ({ rtc: {} })),
    })),
    ioThreadsPolicy: g.maybe(0.05, () => 'shared'),
    ioThreads: g.maybe(0.05, () => (g.bool() ? {} : { supplementalPoolThreadCount: 2 })),
    launchSecurity: g.maybe(0.03, () => ({})),
  };

  const templateSpec: O = {
    domain,
    volumes: volumes.length > 0 || g.bool() ? volumes : undefined,
    networks: networks.length > 0 ? networks : undefined,
    subdomain: g.maybe(0.1, () => 'mine'),
    terminationGracePeriodSeconds: g.maybe(0.15, () => g.pick([0, 60])),
    nodeSelector: g.maybe(0.08, () => ({ disk: 'ssd' })),
    schedulerName: g.maybe(0.05, () => 'mine'),
    architecture: g.maybe(0.1, () => g.pick(['amd64', 'arm64'])),
    evictionStrategy: g.maybe(0.05, () => 'LiveMigrate'),
  };
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'vm', namespace: 'ns' },
    spec: {
      runStrategy: 'Halted',
      instancetype: hasIt ? { name: 'it', kind: g.pick(['VirtualMachineInstancetype', 'VirtualMachineClusterInstancetype']) } : undefined,
      preference: hasPref ? { name: 'pref' } : undefined,
      dataVolumeTemplates: g.maybe(0.25, () => [
        { metadata: { name: 'dv' }, spec: { [g.pick(['storage', 'pvc'])]: g.bool() ? {} : { storageClassName: g.pick(['slow', '']) } } },
        ...(g.bool() ? [{ metadata: { name: 'dv2' }, spec: { source: { blank: {} }, ...(g.bool() ? { storage: {} } : {}) } }] : []),
      ]),
      template: { metadata: g.maybe(0.6, () => ({ annotations: g.maybe(0.6, () => annotations(g)), labels: { a: 'b' } })), spec: templateSpec },
    },
    status: hasIt ? { instancetypeRef: { name: 'it', controllerRevisionRef: { name: 'vm-it-1' } } } : undefined,
  };
}

/** Replaces some values anywhere below `value` with null (Go reads null as "unset" for every type). */
function nullify(g: Gen, value: unknown, p: number): unknown {
  if (Array.isArray(value)) return value.map((v) => nullify(g, v, p));
  if (value !== null && typeof value === 'object') {
    const out: O = {};
    for (const [k, v] of Object.entries(value as O)) out[k] = g.chance(p) ? null : nullify(g, v, p);
    return out;
  }
  return value;
}

/** `count` random cases from `seed`; every case has an instance type, a preference, or both. */
export function randomCorpus(seed: number, count: number): Case[] {
  const g = new Gen(rng(seed));
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const roll = g.r01();
    const hasIt = roll < 0.85;
    const hasPref = roll >= 0.15 ? true : g.bool();
    const c: Case = { id: `random/${seed}/${i}`, vm: randomVM(g, hasIt, hasPref || !hasIt) };
    if (hasIt) c.instancetype = randomInstancetype(g);
    if (hasPref || !hasIt) c.preference = randomPreference(g);
    const out = plain(c);
    // One case in ten has explicit nulls sprinkled in, as API clients sometimes send them.
    if (g.chance(0.1)) {
      const tpl = (out.vm['spec'] as { template: O }).template;
      tpl['spec'] = nullify(g, tpl['spec'], 0.05);
      if (out.instancetype) out.instancetype = nullify(g, out.instancetype, 0.05) as O;
      if (out.preference) out.preference = nullify(g, out.preference, 0.05) as O;
    }
    cases.push(out);
  }
  return cases;
}
