// Pure VM changes on restore: which revisions a VM references, pinning, the copies annotation, knobs.
import { describe, expect, it } from 'vitest';
import {
  applyInstanceKnobs,
  applyVmKnobs,
  matchersOf,
  pinRevisions,
  withoutRevisionCopies,
} from '../../src/kubevirt/restore-vm.ts';
import type { JsonObject } from '../../src/velero/types.ts';
import { preparedByVelero, vmFromBackup, type VmShape } from '../actions/restore-test-kit.ts';

describe('matchersOf: the revisions a restored VM references', () => {
  const cases: { title: string; shape: VmShape; expected: object[] }[] = [
    {
      title: 'KubeVirt <= 1.4: revisionName in the spec, cluster kinds by empty kind',
      shape: { instancetype: { name: 'u1.medium', revisionName: 'vm-u1.medium-v1beta1-uid-1' }, preference: { name: 'fedora', revisionName: 'vm-fedora-v1beta1-uid-1' } },
      expected: [
        { role: 'instancetype', name: 'u1.medium', kind: 'VirtualMachineClusterInstancetype', clusterScoped: true, revisionName: 'vm-u1.medium-v1beta1-uid-1', revisionFrom: 'spec' },
        { role: 'preference', name: 'fedora', kind: 'VirtualMachineClusterPreference', clusterScoped: true, revisionName: 'vm-fedora-v1beta1-uid-1', revisionFrom: 'spec' },
      ],
    },
    {
      title: 'KubeVirt >= 1.5 backed up without this plugin: only the backed-up status knows the revision',
      shape: { instancetype: { name: 'small', kind: 'VirtualMachineInstancetype' }, status: { instancetype: 'vm-small-v1beta1-uid-3' } },
      expected: [{ role: 'instancetype', name: 'small', kind: 'VirtualMachineInstancetype', clusterScoped: false, revisionName: 'vm-small-v1beta1-uid-3', revisionFrom: 'status' }],
    },
    {
      title: 'KubeVirt >= 1.5 backed up with this plugin: the spec pin wins over the status',
      shape: { instancetype: { name: 'small', kind: 'virtualmachineinstancetypes', revisionName: 'pinned' }, status: { instancetype: 'other' } },
      expected: [{ role: 'instancetype', name: 'small', kind: 'VirtualMachineInstancetype', clusterScoped: false, revisionName: 'pinned', revisionFrom: 'spec' }],
    },
    {
      title: 'no revision anywhere (never reconciled): the reference alone',
      shape: { preference: { name: 'windows', kind: 'VirtualMachineClusterPreference' } },
      expected: [{ role: 'preference', name: 'windows', kind: 'VirtualMachineClusterPreference', clusterScoped: true }],
    },
    {
      title: 'no references at all',
      shape: {},
      expected: [],
    },
  ];
  it.each(cases)('$title', ({ shape, expected }) => {
    const backedUp = vmFromBackup(shape);
    expect(matchersOf(preparedByVelero(backedUp), backedUp)).toEqual(expected);
  });

  it('ignores a status reference that names another object (KubeVirt would too)', () => {
    const backedUp = vmFromBackup({ instancetype: { name: 'new' }, status: { instancetype: 'vm-old-rev' } });
    (backedUp['status'] as JsonObject)['instancetypeRef'] = { name: 'old', controllerRevisionRef: { name: 'vm-old-rev' } };
    expect(matchersOf(preparedByVelero(backedUp), backedUp)[0]?.revisionName).toBeUndefined();
  });

  it.each([
    [{ instancetype: { name: 'x', kind: 'VirtualMachinePreference' } }, /spec.instancetype.kind "VirtualMachinePreference" is not a kind spec.instancetype accepts/],
    [{ instancetype: { name: '../etc' } }, /spec.instancetype.name "..\/etc" is not a valid object name/],
    [{ preference: { name: 'p', revisionName: 'Bad_Name' } }, /preference revision name "Bad_Name" is not a valid object name/],
  ] as [VmShape, RegExp][])('rejects %j', (shape, error) => {
    const backedUp = vmFromBackup(shape);
    expect(() => matchersOf(preparedByVelero(backedUp), backedUp)).toThrow(error);
  });
});

describe('pinRevisions and the copies annotation', () => {
  it('pins a status-only revision into the spec, leaving the original object untouched', () => {
    const backedUp = vmFromBackup({ instancetype: { name: 'small' }, status: { instancetype: 'rev-1' } });
    const item = preparedByVelero(backedUp);
    const pinned = pinRevisions(item, matchersOf(item, backedUp));
    expect((pinned['spec'] as JsonObject)['instancetype']).toEqual({ name: 'small', revisionName: 'rev-1' });
    expect((item['spec'] as JsonObject)['instancetype']).toEqual({ name: 'small' });
  });

  it('removes only the revision-copies annotation', () => {
    const vm = vmFromBackup({ annotations: { 'velero.kubevirt.io/revision-copies': '{}', keep: 'me' } });
    expect(withoutRevisionCopies(vm).metadata.annotations).toEqual({ keep: 'me' });
    const only = vmFromBackup({ annotations: { 'velero.kubevirt.io/revision-copies': '{}' } });
    expect(withoutRevisionCopies(only).metadata.annotations).toBeUndefined();
  });
});

describe('restore knobs on a VM', () => {
  const uuid = () => '11111111-2222-3333-4444-555555555555';
  it('run strategy replaces spec.running', () => {
    const { vm, changes } = applyVmKnobs(vmFromBackup({}), { runStrategy: 'Halted', clearMacAddress: false, generateNewFirmwareUuid: false }, uuid);
    expect(vm['spec']).toMatchObject({ runStrategy: 'Halted' });
    expect((vm['spec'] as JsonObject)['running']).toBeUndefined();
    expect(changes).toEqual(['run strategy Halted']);
  });

  it('clears MAC addresses and sets a new firmware UUID in the template', () => {
    const { vm, changes } = applyVmKnobs(vmFromBackup({}), { clearMacAddress: true, generateNewFirmwareUuid: true }, uuid);
    const domain = ((vm['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;
    expect(domain['domain']).toMatchObject({
      devices: { interfaces: [{ name: 'default', masquerade: {} }] },
      firmware: { uuid: '11111111-2222-3333-4444-555555555555' },
    });
    expect(JSON.stringify(vm)).not.toContain('macAddress');
    expect(changes).toEqual(['cleared 1 MAC address(es)', 'new firmware UUID 11111111-2222-3333-4444-555555555555']);
  });

  it('changes nothing when no knob is set', () => {
    const before = vmFromBackup({});
    expect(applyVmKnobs(before, { clearMacAddress: false, generateNewFirmwareUuid: false }, uuid)).toEqual({ vm: before, changes: [] });
  });

  it('keeps an existing firmware serial when replacing the UUID', () => {
    const spec: JsonObject = { domain: { firmware: { uuid: 'old', serial: 's' } } };
    applyInstanceKnobs(spec, { clearMacAddress: false, generateNewFirmwareUuid: true }, uuid);
    expect(spec).toEqual({ domain: { firmware: { uuid: '11111111-2222-3333-4444-555555555555', serial: 's' } } });
  });
});
