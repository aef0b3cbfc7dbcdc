// When Velero's own listing of a backup already holds an object a VM needs (so it is not returned).
import { describe, expect, it } from 'vitest';
import { resourceByPlural } from '../../src/kube/resources.ts';
import { listedByVelero, revisionBackedUpWithVm } from '../../src/kubevirt/backup-listed.ts';
import type { Backup, KubeObject } from '../../src/velero/types.ts';

const revisions = resourceByPlural('apps', 'controllerrevisions');
const clusterTypes = resourceByPlural('instancetype.kubevirt.io', 'virtualmachineclusterinstancetypes');
const revision = (meta: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ControllerRevision',
  metadata: { name: 'vm-it-1', namespace: 'apps', creationTimestamp: '2026-11-30T08:00:00Z', ...meta },
});
const backup = (spec: Backup['spec'] = {}, created = '2026-11-30T09:00:00Z'): Backup => ({
  apiVersion: 'velero.io/v1',
  kind: 'Backup',
  metadata: { name: 'b', namespace: 'velero', creationTimestamp: created },
  spec,
});

describe('listedByVelero', () => {
  const cases: [string, KubeObject, Backup, boolean][] = [
    ['a namespace backup holds a revision made before it', revision(), backup({ includedNamespaces: ['apps'] }), true],
    ['every namespace (no filter, or *)', revision(), backup({ includedNamespaces: ['*'] }), true],
    ['a label selector: the revision may not match it', revision(), backup({ labelSelector: { matchLabels: { app: 'x' } } }), false],
    ['or-label selectors', revision(), backup({ orLabelSelectors: [{ matchLabels: { app: 'x' } }] }), false],
    ['a resource policy', revision(), backup({ resourcePolicy: { kind: 'configmap', name: 'p' } }), false],
    ['another namespace only', revision(), backup({ includedNamespaces: ['other'] }), false],
    ['the namespace excluded', revision(), backup({ excludedNamespaces: ['apps'] }), false],
    ['a glob among the excluded namespaces (not predicted)', revision(), backup({ excludedNamespaces: ['app*'] }), false],
    ['revisions not among the included resources', revision(), backup({ includedResources: ['virtualmachines.kubevirt.io'] }), false],
    ['revisions excluded (scoped filters)', revision(), backup({ excludedNamespaceScopedResources: ['controllerrevisions'] }), false],
    ['the object carries velero.io/exclude-from-backup', revision({ labels: { 'velero.io/exclude-from-backup': 'true' } }), backup(), false],
    ['the object is being deleted', revision({ deletionTimestamp: '2026-11-30T08:59:00Z' }), backup(), false],
    ['made in the same seconds as the backup (maybe after the listing)', revision({ creationTimestamp: '2026-11-30T08:59:59Z' }), backup(), false],
    ['made 2 s before the backup', revision({ creationTimestamp: '2026-11-30T08:59:58Z' }), backup(), true],
    ['no creationTimestamp', revision({ creationTimestamp: undefined }), backup(), false],
  ];
  for (const [name, object, b, want] of cases) {
    it(name, () => expect(listedByVelero(object, revisions!, b)).toBe(want));
  }
  it('a cluster-scoped object is never taken as listed (a namespace backup lists none)', () => {
    const it = { apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterInstancetype', metadata: { name: 'u1', creationTimestamp: '2026-11-30T08:00:00Z' } };
    expect(listedByVelero(it, clusterTypes!, backup())).toBe(false);
  });
});

describe('revisionBackedUpWithVm: whether the revision ends up in the backup with its VM', () => {
  const handed = [{ group: 'apps', resource: 'controllerrevisions', namespace: 'apps', name: 'vm-it-1' }];
  const cases: [string, KubeObject, readonly typeof handed[number][], Backup, boolean, boolean][] = [
    ['handed over (listed or returned), no filter', revision(), handed, backup(), false, true],
    ['not handed over (the graph did not find it)', revision(), [], backup(), false, false],
    ['controllerrevisions excluded by the backup', revision(), handed, backup({ excludedResources: ['controllerrevisions'] }), false, false],
    ['only VMs included', revision(), handed, backup({ includedResources: ['virtualmachines.kubevirt.io'] }), false, false],
    ['excluded, but the VM carries must-include-additional-items', revision(), handed, backup({ excludedResources: ['controllerrevisions'] }), true, true],
    ['labelled velero.io/exclude-from-backup', revision({ labels: { 'velero.io/exclude-from-backup': 'true' } }), handed, backup(), false, false],
    ['being deleted', revision({ deletionTimestamp: '2026-11-30T08:59:00Z' }), handed, backup(), false, false],
    ['a label selector does not matter (the VM hands it over)', revision(), handed, backup({ labelSelector: { matchLabels: { app: 'x' } } }), false, true],
  ];
  for (const [name, object, items, b, mustInclude, want] of cases) {
    it(name, () => expect(revisionBackedUpWithVm(object, items, b, mustInclude)).toBe(want));
  }
});
