// The shape of an expansion: what is removed, what is kept, and how bad input is answered.
import { describe, expect, it } from 'vitest';
import { expandVirtualMachine, KUBEVIRT_DEFAULTS, KUBEVIRT_VERSION } from '../../../src/kubevirt/expand/index.ts';
import type { KubeObject } from '../../../src/velero/types.ts';
import { itWith, vmWith } from './helpers.ts';

type O = Record<string, unknown>;

function fullVM(): KubeObject {
  const vm = vmWith({ domain: { devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] } }, volumes: [{ name: 'root', dataVolume: { name: 'root' } }], networks: [{ name: 'default', pod: {} }] }, { templateMeta: { labels: { app: 'db' } } });
  vm.metadata = { name: 'vm', namespace: 'ns', uid: 'u-1', labels: { team: 'a' }, annotations: { note: 'x' }, resourceVersion: '42' };
  (vm['spec'] as O)['runStrategy'] = 'Always';
  (vm['spec'] as O)['instancetype'] = { name: 'u1.medium', kind: 'VirtualMachineClusterInstancetype', revisionName: 'vm-u1.medium-1' };
  (vm['spec'] as O)['preference'] = { name: 'fedora', revisionName: 'vm-fedora-1' };
  (vm['spec'] as O)['dataVolumeTemplates'] = [{ metadata: { name: 'root' }, spec: { storage: { storageClassName: 'fast' } } }];
  vm['status'] = {
    printableStatus: 'Running',
    instancetypeRef: { name: 'u1.medium', controllerRevisionRef: { name: 'vm-u1.medium-1' } },
    preferenceRef: { name: 'fedora', controllerRevisionRef: { name: 'vm-fedora-1' } },
  };
  return vm;
}

describe('expandVirtualMachine', () => {
  it(`follows KubeVirt ${KUBEVIRT_VERSION}`, () => {
    expect(KUBEVIRT_VERSION).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('removes the matchers and revision references and keeps everything else', () => {
    const vm = fullVM();
    const r = expandVirtualMachine(vm, itWith(), { devices: { preferredDiskBus: 'sata' } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const spec = r.vm['spec'] as O;
    expect(spec['instancetype']).toBeUndefined();
    expect(spec['preference']).toBeUndefined();
    expect(r.vm['status']).toEqual({ printableStatus: 'Running' });
    expect(r.vm.metadata).toEqual(vm.metadata);
    expect(spec['runStrategy']).toBe('Always');
    expect(spec['dataVolumeTemplates']).toEqual((vm['spec'] as O)['dataVolumeTemplates']);
    expect((spec['template'] as O)['metadata']).toEqual({ labels: { app: 'db' } });
    expect(((spec['template'] as O)['spec'] as O)['volumes']).toEqual([{ name: 'root', dataVolume: { name: 'root' } }]);
  });

  it('never modifies its inputs', () => {
    const vm = fullVM();
    const it1 = itWith({ annotations: { a: 'b' } });
    const pref = { devices: { preferredDiskBus: 'sata' } };
    const before = JSON.stringify([vm, it1, pref]);
    expandVirtualMachine(vm, it1, pref);
    expect(JSON.stringify([vm, it1, pref])).toBe(before);
  });

  it('the result shares nothing with its inputs (changing it changes no input)', () => {
    const vm = fullVM();
    const it1 = itWith({ gpus: [{ name: 'g', deviceName: 'd' }], nodeSelector: { a: 'b' } }, { numa: { guestMappingPassthrough: {} } }, { hugepages: { pageSize: '2Mi' } });
    const pref = { devices: { preferredTPM: { persistent: true }, preferredInterfaceMasquerade: {} }, features: { preferredHyperv: { relaxed: {} } }, clock: { preferredClockOffset: { utc: {} } } };
    const before = JSON.stringify([vm, it1, pref]);
    const r = expandVirtualMachine(vm, it1, pref);
    const scribble = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(scribble);
      else if (v !== null && typeof v === 'object') {
        for (const k of Object.keys(v)) scribble((v as O)[k]);
        (v as O)['scribbled'] = true;
      }
    };
    scribble(r.ok ? r.vm : undefined);
    expect(JSON.stringify([vm, it1, pref])).toBe(before);
  });

  it('a VM without instance type and preference comes back unchanged (definitions given are ignored, as KubeVirt does)', () => {
    const vm = vmWith({ domain: {} }, { it: false, pref: false });
    expect(expandVirtualMachine(vm, itWith())).toEqual({ ok: true, vm });
  });

  it('a definition the VM does not refer to is ignored', () => {
    const r = expandVirtualMachine(vmWith({}, { it: false }), itWith({}, { guest: 8 }), {});
    expect(r.ok && (((r.vm['spec'] as O)['template'] as O)['spec'] as O)['domain']).not.toHaveProperty('cpu');
  });

  it.each<[string, KubeObject, O | undefined, O | undefined, string]>([
    ['the instance type is missing', vmWith({}), undefined, {}, 'spec.instancetype'],
    ['the preference is missing', vmWith({}), itWith(), undefined, 'spec.preference'],
    ['not an object', null as unknown as KubeObject, undefined, undefined, ''],
    ['no spec', { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: {} }, undefined, undefined, 'spec'],
    ['no template', { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: {}, spec: { instancetype: { name: 'x' } } }, itWith(), undefined, 'spec.template'],
    ['a field of the wrong type', vmWith({ domain: { cpu: 'four' } }, { pref: false }), itWith(), undefined, 'spec.template.spec.domain.cpu'],
    ['a list that is not a list', vmWith({ volumes: { name: 'x' } }, { pref: false }), itWith(), undefined, 'spec.template.spec.volumes'],
    ['a bad quantity in the instance type', vmWith({}, { pref: false }), itWith({}, {}, { guest: 'lots' }), undefined, 'spec.template.spec'],
    ['a spread ratio of 0', vmWith({}), itWith({}, { guest: 4 }), { cpu: { preferredCPUTopology: 'spread', spreadOptions: { ratio: 0 } } }, 'instancetype.spec.cpu.guest'],
  ])('bad input is a conflict, not an exception: %s', (_name, vm, instancetype, preference, path) => {
    const r = expandVirtualMachine(vm, instancetype, preference);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.conflicts[0]?.path).toBe(path);
  });

  it('with KubeVirt’s cluster defaults, also sets what KubeVirt’s Expand sets (architecture, machine type, ...)', () => {
    const r = expandVirtualMachine(vmWith({ volumes: [{ name: 'root', containerDisk: { image: 'quay.io/x/y' } }] }, { pref: false }), itWith(), undefined, { clusterDefaults: KUBEVIRT_DEFAULTS });
    expect(r.ok && ((r.vm['spec'] as O)['template'] as O)['spec']).toMatchObject({
      architecture: 'amd64',
      evictionStrategy: 'None',
      domain: { machine: { type: 'q35' }, cpu: { sockets: 2, cores: 1, threads: 1 }, memory: { guest: '4Gi' } },
      volumes: [{ name: 'root', containerDisk: { image: 'quay.io/x/y', imagePullPolicy: 'Always' } }],
    });
  });

  it('the default pod interface can be masquerade, as a cluster may configure', () => {
    const r = expandVirtualMachine(vmWith({}, { pref: false }), itWith(), undefined, { defaultNetworkInterface: 'masquerade' });
    expect(r.ok && ((((r.vm['spec'] as O)['template'] as O)['spec'] as O)['domain'] as O)['devices']).toEqual({ interfaces: [{ name: 'default', masquerade: {} }] });
  });
});
