// What a preference requires (KubeVirt v1.9.0 VM admission webhook). A VM that misses a requirement
// would be rejected by KubeVirt, so expansion reports it with KubeVirt's path and message.
import { describe, expect, it } from 'vitest';
import { expandVirtualMachine } from '../../../src/kubevirt/expand/index.ts';
import { itWith, vmWith } from './helpers.ts';

type O = Record<string, unknown>;

describe('preference requirements', () => {
  it.each<[string, O, O | undefined, O, { path: string; message: string } | undefined]>([
    // [what, VM template spec, instance type, preference, reported problem]
    ['instance type vCPUs enough', {}, itWith({}, { guest: 2 }), { requirements: { cpu: { guest: 2 } } }, undefined],
    [
      'instance type vCPUs too few',
      {},
      itWith({}, { guest: 1 }),
      { requirements: { cpu: { guest: 2 } } },
      { path: 'spec.instancetype', message: 'insufficient CPU resources of 1 vCPU provided by instance type, preference requires 2 vCPU' },
    ],
    [
      'instance type memory too small (quantities compared by value, printed canonically)',
      {},
      itWith({}, {}, { guest: '1536Mi' }),
      { requirements: { memory: { guest: '2Gi' } } },
      { path: 'spec.instancetype', message: 'insufficient Memory resources of 1536Mi provided by instance type, preference requires 2Gi' },
    ],
    ['2G is less than 2Gi', {}, itWith({}, {}, { guest: '2G' }), { requirements: { memory: { guest: '2Gi' } } }, {
      path: 'spec.instancetype',
      message: 'insufficient Memory resources of 2G provided by instance type, preference requires 2Gi',
    }],
    [
      'VM sockets too few (preferred topology sockets)',
      { domain: { cpu: { sockets: 1 } } },
      undefined,
      { requirements: { cpu: { guest: 2 } } },
      { path: 'spec.template.spec.domain.cpu.sockets', message: 'insufficient CPU resources of 1 vCPU provided by VirtualMachine, preference requires 2 vCPU provided as sockets' },
    ],
    [
      'VM without topology counts its CPU request as sockets (KubeVirt default)',
      { domain: { resources: { requests: { cpu: '2' } } } },
      undefined,
      { requirements: { cpu: { guest: 2 } } },
      undefined,
    ],
    [
      'VM cores x sockets for spread',
      { domain: { cpu: { sockets: 1, cores: 2 } } },
      undefined,
      { cpu: { preferredCPUTopology: 'spread' }, requirements: { cpu: { guest: 4 } } },
      {
        path: 'spec.template.spec.domain.cpu.sockets, spec.template.spec.domain.cpu.cores',
        message: 'insufficient CPU resources of 2 vCPU provided by VirtualMachine, preference requires 4 vCPU provided as SocketsCores',
      },
    ],
    [
      'VM memory from its memory request (KubeVirt default)',
      { domain: { resources: { requests: { memory: '1Gi' } } } },
      undefined,
      { requirements: { memory: { guest: '2Gi' } } },
      { path: 'spec.template.spec.domain.memory', message: 'insufficient Memory resources of 1Gi provided by VirtualMachine, preference requires 2Gi' },
    ],
    [
      'architecture must match (empty means the cluster default, amd64)',
      {},
      itWith(),
      { requirements: { architecture: 'arm64' } },
      { path: 'spec.template.spec.architecture', message: 'preference requires architecture arm64 but amd64 is being requested' },
    ],
    ['preferredArchitecture satisfies the requirement', {}, itWith(), { preferredArchitecture: 'arm64', requirements: { architecture: 'arm64' } }, undefined],
  ])('%s', (_name, templateSpec, instancetype, preference, problem) => {
    const r = expandVirtualMachine(vmWith(templateSpec, { it: instancetype !== undefined }), instancetype, preference);
    expect(r).toEqual(problem ? { ok: false, conflicts: [problem] } : expect.objectContaining({ ok: true }));
  });
});

describe('spread topology divisibility (checked before anything is applied)', () => {
  it.each<[string, number, O, string | undefined]>([
    ['8 vCPUs by ratio 2', 8, { preferredCPUTopology: 'spread' }, undefined],
    [
      '3 vCPUs by ratio 2',
      3,
      { preferredCPUTopology: 'spread' },
      '3 vCPUs provided by the instance type are not divisible by the Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of 2 provided by the preference',
    ],
    [
      '6 vCPUs, 2 threads per core, ratio 2',
      6,
      { preferredCPUTopology: 'spread', spreadOptions: { across: 'SocketsCoresThreads' } },
      '6 vCPUs provided by the instance type are not divisible by the number of threads per core 2 and Spec.PreferSpreadSocketToCoreRatio or Spec.CPU.PreferSpreadOptions.Ratio of 2',
    ],
    [
      '5 vCPUs across cores and threads',
      5,
      { preferredCPUTopology: 'spread', spreadOptions: { across: 'CoresThreads' } },
      '5 vCPUs provided by the instance type are not divisible by the number of threads per core 2',
    ],
  ])('%s', (_name, guest, cpu, message) => {
    const r = expandVirtualMachine(vmWith({}), itWith({}, { guest }), { cpu });
    expect(r).toEqual(message ? { ok: false, conflicts: [{ path: 'instancetype.spec.cpu.guest', message }] } : expect.objectContaining({ ok: true }));
  });
});
