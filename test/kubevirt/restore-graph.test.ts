// Additional items a restored VM / VMI asks Velero for (by their name in the BACKUP).
import { describe, expect, it } from 'vitest';
import { dedupe, instanceSpecItems, matcherObjectItem, mayComeFromBackup, revisionItem } from '../../src/kubevirt/restore-graph.ts';
import type { Backup, JsonObject, ResourceIdentifier, Restore } from '../../src/velero/types.ts';

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

describe('mayComeFromBackup: only ask Velero for what the backup and restore filters let through', () => {
  const rev = revisionItem('rev', 'src');
  const clusterIt = matcherObjectItem({ role: 'instancetype', name: 'x', kind: 'VirtualMachineClusterInstancetype', clusterScoped: true }, 'src');
  const backup = (spec: NonNullable<Backup['spec']>): Backup => ({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b' }, spec });
  const restore = (spec: NonNullable<Restore['spec']> = {}): Restore => ({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r' }, spec });
  it.each([
    ['unknown backup, plain restore', rev, undefined, restore(), true],
    ['plain backup and restore', rev, backup({}), restore(), true],
    ['backup --exclude-resources controllerrevisions.apps', rev, backup({ excludedResources: ['controllerrevisions.apps'] }), restore(), false],
    ['backup --exclude-resources controllerrevisions (short form)', rev, backup({ excludedResources: ['controllerrevisions'] }), restore(), false],
    ['backup --exclude-namespace-scoped-resources controllerrevisions', rev, backup({ excludedNamespaceScopedResources: ['controllerrevisions'] }), restore(), false],
    ['backup --include-resources virtualmachines', rev, backup({ includedResources: ['virtualmachines'] }), restore(), false],
    ['restore --exclude-resources controllerrevisions', rev, backup({}), restore({ excludedResources: ['controllerrevisions'] }), false],
    ['restore --include-cluster-resources=false, cluster instance type', clusterIt, backup({}), restore({ includeClusterResources: false }), false],
    ['restore --include-cluster-resources=false, revision', rev, backup({}), restore({ includeClusterResources: false }), true],
    ['backup --exclude-cluster-scoped-resources of the instance type kind', clusterIt, backup({ excludedClusterScopedResources: ['virtualmachineclusterinstancetypes'] }), restore(), false],
  ] as [string, ResourceIdentifier, Backup | undefined, Restore, boolean][])('%s -> %s', (_t, item, b, r, expected) => {
    expect(mayComeFromBackup(item, b, r)).toBe(expected);
  });
});
