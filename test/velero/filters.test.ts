// Velero's resource include/exclude rules as the plugin predicts them (Velero's
// pkg/util/collections/includes_excludes.go and item_backupper.go are the authority).
import { describe, expect, it } from 'vitest';
import { resourceByPlural } from '../../src/kube/resources.ts';
import { deepFreeze } from '../../src/shared/json.ts';
import { backupIncludesResource, globToRegExp, resolveFilterEntry } from '../../src/velero/filters.ts';
import { backupWith } from '../fixtures/scenarios.ts';
import type { Backup } from '../../src/velero/types.ts';

describe('a filter entry resolves like Velero discovery does', () => {
  const CASES: [string, string | undefined][] = [
    ['*', '*'],
    ['virtualmachines', 'virtualmachines.kubevirt.io'],
    ['VirtualMachine', 'virtualmachines.kubevirt.io'],
    ['vm', 'virtualmachines.kubevirt.io'],
    ['VMS', 'virtualmachines.kubevirt.io'],
    ['virtualmachine.kubevirt.io', 'virtualmachines.kubevirt.io'],
    ['vmi', 'virtualmachineinstances.kubevirt.io'],
    ['PersistentVolumeClaims', 'persistentvolumeclaims'],
    ['pvc', 'persistentvolumeclaims'],
    ['dv', 'datavolumes.cdi.kubevirt.io'],
    ['controllerrevisions.apps', 'controllerrevisions.apps'],
    ['vmcf', 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io'],
    ['vmps', 'virtualmachinepreferences.instancetype.kubevirt.io'],
    ['po', 'pods'],
    // Unknown to us: kept verbatim, as Velero keeps what it cannot resolve (then used as a glob).
    ['deployments', 'deployments'],
    ['vm.other.example.com', 'vm.other.example.com'],
    ['virtualmachine*', 'virtualmachine*'],
  ];
  for (const [entry, resolved] of CASES) {
    it(`${JSON.stringify(entry)} -> ${JSON.stringify(resolved)}`, () => {
      expect(resolveFilterEntry(entry)).toBe(resolved);
    });
  }
  it('scoped filters drop an entry of the other scope', () => {
    expect(resolveFilterEntry('vmcf', 'namespaced')).toBeUndefined();
    expect(resolveFilterEntry('vmcf', 'cluster')).toBe('virtualmachineclusterinstancetypes.instancetype.kubevirt.io');
  });
});

describe('glob patterns (gobwas/glob syntax)', () => {
  const CASES: [string, string, boolean][] = [
    ['*', 'pods', true],
    ['virtualmachine*', 'virtualmachineinstances.kubevirt.io', true],
    ['*.kubevirt.io', 'datavolumes.cdi.kubevirt.io', true],
    ['*.kubevirt.io', 'persistentvolumeclaims', false],
    ['pod?', 'pods', true],
    ['{pods,secrets}', 'secrets', true],
    ['[!p]ods', 'pods', false],
    ['persistentvolumeclaims', 'persistentvolumeclaims', true],
    ['persistentvolumeclaim', 'persistentvolumeclaims', false],
  ];
  for (const [pattern, value, matches] of CASES) {
    it(`${pattern} ${matches ? 'matches' : 'does not match'} ${value}`, () => {
      expect(globToRegExp(pattern)?.test(value)).toBe(matches);
    });
  }
  it('an invalid pattern does not compile', () => {
    expect(globToRegExp('[abc')).toBeUndefined();
  });
});

const R = {
  vmis: resourceByPlural('kubevirt.io', 'virtualmachineinstances'),
  pods: resourceByPlural('', 'pods'),
  pvcs: resourceByPlural('', 'persistentvolumeclaims'),
  clusterTypes: resourceByPlural('instancetype.kubevirt.io', 'virtualmachineclusterinstancetypes'),
};

describe('is a resource in the backup?', () => {
  const CASES: [string, Backup, keyof typeof R, boolean][] = [
    ['no filters: everything namespaced', backupWith(), 'vmis', true],
    ['no filters: cluster-scoped additional items too', backupWith(), 'clusterTypes', true],
    ['included by kind name', backupWith({ includedResources: ['VirtualMachineInstance'] }), 'vmis', true],
    ['not in the include list', backupWith({ includedResources: ['virtualmachines'] }), 'vmis', false],
    ['include "*"', backupWith({ includedResources: ['*'] }), 'pods', true],
    ['exclude wins over include', backupWith({ includedResources: ['*'], excludedResources: ['pods'] }), 'pods', false],
    ['exclude by glob', backupWith({ excludedResources: ['*.kubevirt.io'] }), 'vmis', false],
    ['an invalid glob makes the whole exclude list match nothing (as in Velero)', backupWith({ excludedResources: ['[bad', 'pods'] }), 'pods', true],
    ['"*" in the old excludes is ignored', backupWith({ excludedResources: ['*'] }), 'pods', true],
    ['old filters, includeClusterResources false: cluster kinds out', backupWith({ includeClusterResources: false }), 'clusterTypes', false],
    ['old filters, includeClusterResources unset, include list without them: out', backupWith({ includedResources: ['vm'] }), 'clusterTypes', false],
    ['old filters, includeClusterResources true: in', backupWith({ includedResources: ['vm'], includeClusterResources: true }), 'clusterTypes', true],
    ['scoped filters: namespaced include list', backupWith({ includedNamespaceScopedResources: ['pods'] }), 'pvcs', false],
    ['scoped filters: namespaced exclude "*"', backupWith({ excludedNamespaceScopedResources: ['*'] }), 'pods', false],
    ['scoped filters: cluster kinds named as additional items are taken', backupWith({ includedNamespaceScopedResources: ['vm'] }), 'clusterTypes', true],
    ['scoped filters: cluster kind excluded', backupWith({ excludedClusterScopedResources: ['vmcf'] }), 'clusterTypes', false],
    ['scoped filters: a cluster kind in the namespaced list is dropped, leaving "everything"', backupWith({ includedNamespaceScopedResources: ['vmcf'] }), 'pods', true],
  ];
  for (const [title, backup, resource, expected] of CASES) {
    it(title, () => {
      const info = R[resource];
      if (info === undefined) throw new Error('resource table incomplete');
      expect(backupIncludesResource(backup, info)).toBe(expected);
    });
    it(`${title} (a frozen Backup, as decoded from a request, asked twice)`, () => {
      const info = R[resource];
      if (info === undefined) throw new Error('resource table incomplete');
      const frozen = deepFreeze(structuredClone(backup));
      expect(backupIncludesResource(frozen, info)).toBe(expected);
      expect(backupIncludesResource(frozen, info)).toBe(expected);
    });
  }

  it('a Backup that is not frozen is read again on every question (it may have changed)', () => {
    const backup = backupWith({ excludedResources: ['pods'] });
    const pods = R.pods;
    if (pods === undefined) throw new Error('resource table incomplete');
    expect(backupIncludesResource(backup, pods)).toBe(false);
    backup.spec = { ...backup.spec, excludedResources: ['services'] };
    expect(backupIncludesResource(backup, pods)).toBe(true);
  });

  it('answers for one frozen Backup are not given for another', () => {
    const pods = R.pods;
    if (pods === undefined) throw new Error('resource table incomplete');
    expect(backupIncludesResource(deepFreeze(backupWith({ excludedResources: ['pods'] })), pods)).toBe(false);
    expect(backupIncludesResource(deepFreeze(backupWith({ excludedResources: ['services'] })), pods)).toBe(true);
  });
});
