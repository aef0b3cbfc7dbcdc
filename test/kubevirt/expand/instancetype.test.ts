// What an instance type does to a VM (KubeVirt v1.9.0). Each row: the VM's template, the instance
// type, and what the VM looks like afterwards or which fields conflict. Checked against KubeVirt's
// own code by test/oracle/expand-differential.test.ts.
import { describe, expect, it } from 'vitest';
import { expandVirtualMachine } from '../../../src/kubevirt/expand/index.ts';
import { conflictsOf, domainAfter, itWith, templateAfter, vmWith } from './helpers.ts';

type O = Record<string, unknown>;

describe('instance type: CPU', () => {
  it.each<[string, O, O | undefined, O]>([
    ['guest vCPUs become sockets by default', itWith({}, { guest: 4 }), undefined, { sockets: 4, cores: 1, threads: 1 }],
    ['one vCPU is always 1/1/1', itWith({}, { guest: 1 }), { cpu: { preferredCPUTopology: 'cores' } }, { sockets: 1, cores: 1, threads: 1 }],
    ['preferred "cores"', itWith({}, { guest: 4 }), { cpu: { preferredCPUTopology: 'cores' } }, { sockets: 1, cores: 4, threads: 1 }],
    ['preferred "threads"', itWith({}, { guest: 4 }), { cpu: { preferredCPUTopology: 'threads' } }, { sockets: 1, cores: 1, threads: 4 }],
    ['preferred "any" means sockets', itWith({}, { guest: 4 }), { cpu: { preferredCPUTopology: 'any' } }, { sockets: 4, cores: 1, threads: 1 }],
    ['deprecated "preferCores" still works', itWith({}, { guest: 4 }), { cpu: { preferredCPUTopology: 'preferCores' } }, { sockets: 1, cores: 4, threads: 1 }],
    ['"spread" default: ratio 2 across sockets and cores', itWith({}, { guest: 8 }), { cpu: { preferredCPUTopology: 'spread' } }, { sockets: 4, cores: 2, threads: 1 }],
    [
      '"spread" across cores and threads',
      itWith({}, { guest: 8 }),
      { cpu: { preferredCPUTopology: 'spread', spreadOptions: { across: 'CoresThreads' } } },
      { sockets: 1, cores: 4, threads: 2 },
    ],
    [
      '"spread" across sockets, cores and threads (2 threads per core)',
      itWith({}, { guest: 16 }),
      { cpu: { preferredCPUTopology: 'spread', spreadOptions: { across: 'SocketsCoresThreads', ratio: 4 } } },
      { sockets: 2, cores: 4, threads: 2 },
    ],
    [
      'deprecated preferSpreadSocketToCoreRatio sets the ratio',
      itWith({}, { guest: 6 }),
      { cpu: { preferredCPUTopology: 'preferSpread' }, preferSpreadSocketToCoreRatio: 3 },
      { sockets: 2, cores: 3, threads: 1 },
    ],
    ['an unknown topology leaves 1/1/1', itWith({}, { guest: 4 }), { cpu: { preferredCPUTopology: '' } }, { sockets: 1, cores: 1, threads: 1 }],
  ])('%s', (_name, instancetype, preference, topology) => {
    expect(domainAfter({}, instancetype, preference)['cpu']).toEqual(topology);
  });

  it('copies model, dedicated placement, emulator thread isolation, NUMA, realtime and max sockets', () => {
    const cpu = { guest: 2, model: 'EPYC', dedicatedCPUPlacement: true, isolateEmulatorThread: true, numa: { guestMappingPassthrough: {} }, realtime: { mask: '0-1' }, maxSockets: 8 };
    expect(domainAfter({}, { cpu, memory: { guest: '1Gi' } })['cpu']).toEqual({ ...cpu, guest: undefined, sockets: 2, cores: 1, threads: 1 });
  });

  it('keeps the VM’s CPU features and other CPU fields it does not own', () => {
    expect(domainAfter({ domain: { cpu: { features: [{ name: 'vmx' }] } } }, itWith())['cpu']).toEqual({ features: [{ name: 'vmx' }], sockets: 2, cores: 1, threads: 1 });
  });

  it.each<[string, O, O, string[]]>([
    ['CPU request', { resources: { requests: { cpu: '1' } } }, itWith(), ['spec.template.spec.domain.resources.requests.cpu']],
    ['CPU limit', { resources: { limits: { cpu: '1' } } }, itWith(), ['spec.template.spec.domain.resources.limits.cpu']],
    [
      'any topology field, all reported at once',
      { cpu: { sockets: 1, cores: 2, threads: 1 } },
      itWith(),
      ['spec.template.spec.domain.cpu.sockets', 'spec.template.spec.domain.cpu.cores', 'spec.template.spec.domain.cpu.threads'],
    ],
    ['model, only when the instance type sets one', { cpu: { model: 'host-model' } }, itWith({}, { model: 'EPYC' }), ['spec.template.spec.domain.cpu.model']],
    ['dedicated placement', { cpu: { dedicatedCPUPlacement: true } }, itWith({}, { dedicatedCPUPlacement: false }), ['spec.template.spec.domain.cpu.dedicatedCPUPlacement']],
    ['NUMA', { cpu: { numa: {} } }, itWith({}, { numa: {} }), ['spec.template.spec.domain.cpu.numa']],
    ['realtime', { cpu: { realtime: {} } }, itWith({}, { realtime: {} }), ['spec.template.spec.domain.cpu.realtime']],
  ])('a VM that sets its own %s conflicts', (_name, domain, instancetype, paths) => {
    expect(conflictsOf(expandVirtualMachine(vmWith({ domain }, { pref: false }), instancetype))).toEqual(paths);
  });

  it.each<[string, O, O]>([
    ['model when the instance type has none', { cpu: { model: 'host-model' } }, itWith()],
    ['dedicatedCPUPlacement: false (indistinguishable from unset)', { cpu: { dedicatedCPUPlacement: false } }, itWith({}, { dedicatedCPUPlacement: true })],
  ])('no conflict: %s', (_name, domain, instancetype) => {
    expect(expandVirtualMachine(vmWith({ domain }, { pref: false }), instancetype).ok).toBe(true);
  });
});

describe('instance type: memory', () => {
  it.each<[string, O, O]>([
    ['guest memory, in canonical form', { guest: '1024Mi' }, { guest: '1Gi' }],
    ['hugepages', { guest: '2Gi', hugepages: { pageSize: '2Mi' } }, { guest: '2Gi', hugepages: { pageSize: '2Mi' } }],
    ['max guest for memory hotplug', { guest: '2Gi', maxGuest: '8192Mi' }, { guest: '2Gi', maxGuest: '8Gi' }],
  ])('%s', (_name, memory, expected) => {
    expect(domainAfter({}, { cpu: { guest: 1 }, memory })['memory']).toEqual(expected);
  });

  it.each<[string, string, number, string]>([
    ['50% of 4Gi', '4Gi', 50, '2Gi'],
    ['10% of 1Gi, computed in float32 like KubeVirt', '1Gi', 10, '966367616'],
    ['33% of 3000M: decimal format, float32 rounding included', '3000M', 33, '2009999872'],
    ['100% requests nothing', '1Gi', 100, '0'],
  ])('overcommit %s', (_name, guest, percent, request) => {
    const domain = domainAfter({}, { cpu: { guest: 1 }, memory: { guest, overcommitPercent: percent } });
    expect(domain['resources']).toEqual({ requests: { memory: request } });
  });

  it.each<[string, O, O, string]>([
    ['guest memory', { memory: { guest: '1Gi' } }, {}, 'spec.template.spec.domain.memory.guest'],
    ['hugepages when the instance type has them', { memory: { hugepages: { pageSize: '2Mi' } } }, { hugepages: { pageSize: '1Gi' } }, 'spec.template.spec.domain.memory.hugepages'],
    ['max guest when the instance type has one', { memory: { maxGuest: '8Gi' } }, { maxGuest: '4Gi' }, 'spec.template.spec.domain.memory.maxGuest'],
    ['memory request', { resources: { requests: { memory: '1Gi' } } }, {}, 'spec.template.spec.domain.resources.requests.memory'],
    ['memory limit', { resources: { limits: { memory: '1Gi' } } }, {}, 'spec.template.spec.domain.resources.limits.memory'],
  ])('a VM that sets its own %s conflicts (only the first memory conflict is reported)', (_name, domain, memory, path) => {
    const r = expandVirtualMachine(vmWith({ domain: { ...domain, resources: { ...(domain['resources'] as O), limits: { memory: '9Gi' } } } }, { pref: false }), itWith({}, {}, memory));
    expect(conflictsOf(r)[0]).toBe(path);
    expect(conflictsOf(r)).toHaveLength(1);
  });
});

describe('instance type: devices, scheduling and metadata', () => {
  it.each<[string, O, O]>([
    ['GPUs', { gpus: [{ name: 'g', deviceName: 'nvidia.com/T4' }] }, { domain: { devices: { gpus: [{ name: 'g', deviceName: 'nvidia.com/T4' }] } } }],
    ['host devices', { hostDevices: [{ name: 'h', deviceName: 'intel.com/qat' }] }, { domain: { devices: { hostDevices: [{ name: 'h', deviceName: 'intel.com/qat' }] } } }],
    ['IO threads policy', { ioThreadsPolicy: 'auto' }, { domain: { ioThreadsPolicy: 'auto' } }],
    ['supplemental IO thread pool', { ioThreads: { supplementalPoolThreadCount: 4 } }, { domain: { ioThreads: { supplementalPoolThreadCount: 4 } } }],
    ['launch security', { launchSecurity: { sev: {} } }, { domain: { launchSecurity: { sev: {} } } }],
    ['node selector', { nodeSelector: { zone: 'a' } }, { nodeSelector: { zone: 'a' } }],
    ['scheduler name', { schedulerName: 'custom' }, { schedulerName: 'custom' }],
  ])('%s are copied into the template', (_name, extra, expected) => {
    expect(templateAfter({}, itWith(extra))).toMatchObject(expected);
  });

  it.each<[string, O, O, string]>([
    ['GPUs', { domain: { devices: { gpus: [{ name: 'x', deviceName: 'y' }] } } }, { gpus: [{ name: 'g', deviceName: 'z' }] }, 'spec.template.spec.domain.devices.gpus'],
    ['host devices', { domain: { devices: { hostDevices: [{ name: 'x', deviceName: 'y' }] } } }, { hostDevices: [{ name: 'h', deviceName: 'z' }] }, 'spec.template.spec.domain.devices.hostDevices'],
    ['IO threads policy', { domain: { ioThreadsPolicy: 'shared' } }, { ioThreadsPolicy: 'auto' }, 'spec.template.spec.domain.ioThreadsPolicy'],
    ['launch security', { domain: { launchSecurity: {} } }, { launchSecurity: { sev: {} } }, 'spec.template.spec.domain.launchSecurity'],
    ['node selector, even an empty one', { nodeSelector: {} }, { nodeSelector: { zone: 'a' } }, 'spec.template.spec.nodeSelector'],
    ['scheduler name', { schedulerName: 'mine' }, { schedulerName: 'custom' }, 'spec.template.spec.schedulerName'],
  ])('a VM with its own %s conflicts', (_name, templateSpec, extra, path) => {
    expect(conflictsOf(expandVirtualMachine(vmWith(templateSpec, { pref: false }), itWith(extra)))).toEqual([path]);
  });

  it('an empty GPU list in the VM takes the instance type’s', () => {
    expect(templateAfter({ domain: { devices: { gpus: [] } } }, itWith({ gpus: [{ name: 'g', deviceName: 'd' }] }))).toMatchObject({ domain: { devices: { gpus: [{ name: 'g' }] } } });
  });

  it('annotations are added to the template; the same value is fine, another value conflicts (path without spec prefix)', () => {
    const instancetype = itWith({ annotations: { a: '1', b: '2', c: '3' } });
    const ok = expandVirtualMachine(vmWith({}, { pref: false, templateMeta: { annotations: { a: '1' } } }), instancetype);
    expect(ok.ok && (ok.vm['spec'] as { template: { metadata: O } }).template.metadata).toEqual({ annotations: { a: '1', b: '2', c: '3' } });
    const clash = expandVirtualMachine(vmWith({}, { pref: false, templateMeta: { annotations: { b: 'x', c: 'y' } } }), instancetype);
    expect(clash).toEqual({
      ok: false,
      conflicts: [
        { path: 'annotations.b', message: 'VM field(s) annotations.b conflicts with selected instance type' },
        { path: 'annotations.c', message: 'VM field(s) annotations.c conflicts with selected instance type' },
      ],
    });
  });

  it('conflicts of all field groups are collected together', () => {
    const r = expandVirtualMachine(vmWith({ schedulerName: 'x', domain: { cpu: { cores: 2 }, memory: { guest: '1Gi' } } }, { pref: false }), itWith({ schedulerName: 'y' }));
    expect(conflictsOf(r)).toEqual(['spec.template.spec.schedulerName', 'spec.template.spec.domain.cpu.cores', 'spec.template.spec.domain.memory.guest']);
  });
});
