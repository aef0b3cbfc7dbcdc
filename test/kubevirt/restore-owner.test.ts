// Re-owning restored revisions once the VM exists.
import { describe, expect, it } from 'vitest';
import { controllerPatch, controllerStatus, revisionsUsedBy } from '../../src/kubevirt/restore-owner.ts';
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

describe('controllerPatch', () => {
  it('names only the VM as controller: the API server merges owner references by UID', () => {
    expect(controllerPatch(vm)).toEqual({ metadata: { ownerReferences: [controllerRef] } });
  });

  it('refuses a VM without UID (not created yet)', () => {
    const noUid = structuredClone(vm);
    delete noUid.metadata.uid;
    expect(() => controllerPatch(noUid)).toThrow(/has no UID yet/);
  });
});

describe('controllerStatus', () => {
  const cases: { title: string; owners?: OwnerReference[]; expected: object }[] = [
    { title: 'orphan (as Velero restores it)', expected: { state: 'orphan' } },
    { title: 'a non-controller owner only: still an orphan', owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' }], expected: { state: 'orphan' } },
    { title: 'controlled by this VM', owners: [controllerRef], expected: { state: 'owned-by-vm' } },
    {
      title: 'controlled by something else',
      owners: [{ ...controllerRef, uid: 'someone-else' }],
      expected: { state: 'owned-by-other', owner: { ...controllerRef, uid: 'someone-else' } },
    },
  ];
  it.each(cases)('$title', ({ owners, expected }) => {
    expect(controllerStatus(revision(owners), vm)).toEqual(expected);
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
