// Additional items a restored VM / VMI asks Velero for (by their name in the BACKUP).
import { describe, expect, it } from 'vitest';
import { dedupe, instanceSpecItems, matcherObjectItem, revisionItem } from '../../src/kubevirt/restore-graph.ts';
import type { JsonObject } from '../../src/velero/types.ts';

describe('instanceSpecItems', () => {
  it('lists every volume kind and access credential, once', () => {
    const spec: JsonObject = {
      volumes: [
        { name: 'a', dataVolume: { name: 'dv-root' } },
        { name: 'b', persistentVolumeClaim: { claimName: 'pvc-data' } },
        { name: 'c', memoryDump: { claimName: 'pvc-dump' } },
        { name: 'd', configMap: { name: 'cm' } },
        { name: 'e', secret: { secretName: 's' } },
        { name: 'f', serviceAccount: { serviceAccountName: 'sa' } },
        { name: 'g', cloudInitNoCloud: { userDataSecretRef: { name: 'ud' }, networkDataSecretRef: { name: 'nd' } } },
        { name: 'h', cloudInitConfigDrive: { userDataSecretRef: { name: 'ud' } } },
        { name: 'i', containerDisk: { image: 'x' } },
        { name: 'j', persistentVolumeClaim: { claimName: 'Not/A/Name' } },
      ],
      accessCredentials: [
        { sshPublicKey: { source: { secret: { secretName: 'ssh' } } } },
        { userPassword: { source: { secret: { secretName: 'pw' } } } },
      ],
    };
    expect(instanceSpecItems(spec, 'src')).toEqual([
      { group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: 'src', name: 'dv-root' },
      { group: '', resource: 'persistentvolumeclaims', namespace: 'src', name: 'dv-root' },
      { group: '', resource: 'persistentvolumeclaims', namespace: 'src', name: 'pvc-data' },
      { group: '', resource: 'persistentvolumeclaims', namespace: 'src', name: 'pvc-dump' },
      { group: '', resource: 'configmaps', namespace: 'src', name: 'cm' },
      { group: '', resource: 'secrets', namespace: 'src', name: 's' },
      { group: '', resource: 'serviceaccounts', namespace: 'src', name: 'sa' },
      { group: '', resource: 'secrets', namespace: 'src', name: 'ud' },
      { group: '', resource: 'secrets', namespace: 'src', name: 'nd' },
      { group: '', resource: 'secrets', namespace: 'src', name: 'ssh' },
      { group: '', resource: 'secrets', namespace: 'src', name: 'pw' },
    ]);
  });

  it('copes with no spec', () => expect(instanceSpecItems(undefined, 'src')).toEqual([]));
});

describe('instance type objects and revisions', () => {
  it.each([
    [{ kind: 'VirtualMachineClusterInstancetype', clusterScoped: true }, { group: 'instancetype.kubevirt.io', resource: 'virtualmachineclusterinstancetypes', namespace: '', name: 'x' }],
    [{ kind: 'VirtualMachineInstancetype', clusterScoped: false }, { group: 'instancetype.kubevirt.io', resource: 'virtualmachineinstancetypes', namespace: 'src', name: 'x' }],
    [{ kind: 'VirtualMachineClusterPreference', clusterScoped: true }, { group: 'instancetype.kubevirt.io', resource: 'virtualmachineclusterpreferences', namespace: '', name: 'x' }],
    [{ kind: 'VirtualMachinePreference', clusterScoped: false }, { group: 'instancetype.kubevirt.io', resource: 'virtualmachinepreferences', namespace: 'src', name: 'x' }],
  ])('%j', (m, expected) => {
    expect(matcherObjectItem({ role: 'instancetype', name: 'x', ...m }, 'src')).toEqual(expected);
  });

  it('revisions are apps/controllerrevisions; duplicates are dropped', () => {
    const r = revisionItem('rev', 'src');
    expect(r).toEqual({ group: 'apps', resource: 'controllerrevisions', namespace: 'src', name: 'rev' });
    expect(dedupe([r, { ...r }, revisionItem('rev', 'other')])).toHaveLength(2);
  });
});
