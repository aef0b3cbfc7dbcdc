// Where definitions come from: live objects, ControllerRevisions and their data in every API version
// KubeVirt has written into revisions, and bare specs. All give the same expansion.
import { describe, expect, it } from 'vitest';
import { expandVirtualMachine, extractSpec } from '../../../src/kubevirt/expand/index.ts';
import { vmWith } from './helpers.ts';

const spec = { cpu: { guest: 2 }, memory: { guest: '2Gi' } };
const prefSpec = { cpu: { preferredCPUTopology: 'preferCores' }, devices: { preferredDiskBus: 'virtio' } };
const group = 'instancetype.kubevirt.io';

// What KubeVirt's conversion makes of an old instance type: its plain CPU fields become set values.
const convertedOld = { cpu: { guest: 2, model: '', dedicatedCPUPlacement: false, isolateEmulatorThread: false }, memory: { guest: '2Gi' } };

describe('extractSpec', () => {
  it.each<[string, unknown, unknown]>([
    ['a bare spec', spec, spec],
    ['a v1beta1 cluster instance type', { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachineClusterInstancetype', metadata: { name: 'u1.large' }, spec }, spec],
    ['a v1beta1 namespaced instance type', { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachineInstancetype', metadata: { name: 'x' }, spec }, spec],
    [
      'a whole ControllerRevision',
      { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'vm-u1.large-1' }, revision: 0, data: { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachineClusterInstancetype', spec } },
      spec,
    ],
    ['a v1alpha2 object in a revision', { apiVersion: `${group}/v1alpha2`, kind: 'VirtualMachineInstancetype', metadata: {}, spec }, convertedOld],
    ['a v1alpha1 object', { apiVersion: `${group}/v1alpha1`, kind: 'VirtualMachineClusterInstancetype', metadata: {}, spec }, convertedOld],
    ['a v1alpha1 spec revision (base64 spec, KubeVirt 0.5x)', { apiVersion: `${group}/v1alpha1`, spec: Buffer.from(JSON.stringify(spec)).toString('base64') }, convertedOld],
  ])('instance type from %s', (_name, source, expected) => {
    expect(extractSpec(source, 'instancetype')).toEqual(expected);
  });

  it('an old instance type without a CPU model still conflicts with a VM that names one (as in KubeVirt)', () => {
    const old = { apiVersion: `${group}/v1alpha2`, kind: 'VirtualMachineInstancetype', spec };
    const r = expandVirtualMachine(vmWith({ domain: { cpu: { model: 'host-model' } } }, { pref: false }), old);
    expect(r.ok ? [] : r.conflicts.map((c) => c.path)).toEqual(['spec.template.spec.domain.cpu.model']);
    expect(expandVirtualMachine(vmWith({ domain: { cpu: { model: 'host-model' } } }, { pref: false }), spec).ok).toBe(true);
  });

  it('v1alpha1/v1alpha2 preferences: an empty preferredCPUTopology means "not set" (KubeVirt conversion)', () => {
    const old = { apiVersion: `${group}/v1alpha2`, kind: 'VirtualMachinePreference', spec: { cpu: { preferredCPUTopology: '' } } };
    expect(extractSpec(old, 'preference')).toEqual({ cpu: {} });
    const beta = { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachinePreference', spec: { cpu: { preferredCPUTopology: '' } } };
    expect(extractSpec(beta, 'preference')).toEqual({ cpu: { preferredCPUTopology: '' } });
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'u1.large', 'instance type: expected an object'],
    ['another API group', { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', spec: {} }, 'unsupported apiVersion "kubevirt.io/v1"'],
    ['an unknown version', { apiVersion: `${group}/v2`, kind: 'VirtualMachineInstancetype', spec }, 'unsupported apiVersion'],
    ['a preference where an instance type belongs', { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachinePreference', spec }, 'unexpected kind "VirtualMachinePreference"'],
    ['a revision without data', { apiVersion: 'apps/v1', kind: 'ControllerRevision' }, 'the ControllerRevision has no data object'],
    ['a spec revision that is not base64 JSON', { apiVersion: `${group}/v1alpha1`, spec: '!!!' }, 'not base64 encoded JSON'],
  ])('rejects %s with a clear message', (_name, source, message) => {
    expect(() => extractSpec(source, 'instancetype')).toThrow(message);
  });
});

describe('every v1beta1 source gives the same expansion', () => {
  const sources: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['bare specs', spec, prefSpec],
    [
      'v1beta1 revisions',
      { apiVersion: 'apps/v1', kind: 'ControllerRevision', data: { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachineClusterInstancetype', spec } },
      { apiVersion: 'apps/v1', kind: 'ControllerRevision', data: { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachineClusterPreference', spec: prefSpec } },
    ],
    [
      'the live objects',
      { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachineClusterInstancetype', metadata: { name: 'u1.large', uid: 'x', generation: 3 }, spec },
      { apiVersion: `${group}/v1beta1`, kind: 'VirtualMachinePreference', metadata: { name: 'fedora', namespace: 'ns' }, spec: prefSpec },
    ],
  ];
  const [, baseIt, basePref] = sources[0] as [string, Record<string, unknown>, Record<string, unknown>];
  const reference = expandVirtualMachine(vmWith({ volumes: [{ name: 'root', containerDisk: { image: 'i' } }] }), baseIt, basePref);

  it.each(sources)('%s', (_name, instancetype, preference) => {
    expect(reference.ok).toBe(true);
    expect(expandVirtualMachine(vmWith({ volumes: [{ name: 'root', containerDisk: { image: 'i' } }] }), instancetype, preference)).toEqual(reference);
  });

  it('a bad source is a conflict on the matcher, never an exception', () => {
    expect(expandVirtualMachine(vmWith({}), { apiVersion: 'x/v1', kind: 'Y' }, prefSpec)).toEqual({
      ok: false,
      conflicts: [{ path: 'spec.instancetype', message: expect.stringContaining('unsupported apiVersion "x/v1"') as unknown as string }],
    });
  });
});
