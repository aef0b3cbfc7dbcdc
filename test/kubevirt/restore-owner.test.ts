// Re-owning restored revisions once the VM exists.
import { describe, expect, it } from 'vitest';
import { ownerDecision, revisionsUsedBy } from '../../src/kubevirt/restore-owner.ts';
import type { KubeObject, OwnerReference } from '../../src/velero/types.ts';

const vm: KubeObject = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'vm', namespace: 'dst', uid: 'new-vm-uid' },
  spec: { instancetype: { name: 'u1', revisionName: 'rev-it' }, preference: { name: 'p' } },
  status: { preferenceRef: { name: 'p', controllerRevisionRef: { name: 'rev-pref' } } },
};

function revision(owners?: OwnerReference[]): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name: 'rev-it', namespace: 'dst', resourceVersion: '7', ...(owners ? { ownerReferences: owners } : {}) },
  };
}

const controllerRef = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: 'new-vm-uid', controller: true, blockOwnerDeletion: true };

describe('ownerDecision', () => {
  const cases: { title: string; owners?: OwnerReference[]; expected: object }[] = [
    {
      title: 'orphan (as Velero restores it): the VM becomes its controller, guarded by resourceVersion',
      expected: { action: 'patch', patch: { metadata: { ownerReferences: [controllerRef], resourceVersion: '7' } } },
    },
    {
      title: 'non-controller owners are kept beside the new controller',
      owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' }],
      expected: {
        action: 'patch',
        patch: { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' }, controllerRef], resourceVersion: '7' } },
      },
    },
    { title: 'already controlled by this VM: nothing to do', owners: [controllerRef], expected: { action: 'none', reason: 'owned-by-vm' } },
    {
      title: 'controlled by something else: left alone',
      owners: [{ ...controllerRef, uid: 'someone-else' }],
      expected: { action: 'none', reason: 'owned-by-other', owner: { ...controllerRef, uid: 'someone-else' } },
    },
  ];
  it.each(cases)('$title', ({ owners, expected }) => {
    expect(ownerDecision(revision(owners), vm)).toEqual(expected);
  });

  it('refuses a VM without UID (not created yet)', () => {
    const noUid = structuredClone(vm);
    delete noUid.metadata.uid;
    expect(() => ownerDecision(revision(), noUid)).toThrow(/has no UID yet/);
  });
});

describe('revisionsUsedBy', () => {
  it('reads spec pins (KubeVirt <= 1.4, or pinned on restore) and status refs (>= 1.5)', () => {
    expect(revisionsUsedBy(vm)).toEqual(['rev-it', 'rev-pref']);
  });
  it('names each revision once', () => {
    const both = structuredClone(vm);
    both['status'] = { instancetypeRef: { controllerRevisionRef: { name: 'rev-it' } } };
    expect(revisionsUsedBy(both)).toEqual(['rev-it']);
  });
});
