// The VM's backup view (look-ups + graph) is computed once for Velero's two calls on the same VM
// (GetRelatedItems, then Execute), and only where that cannot change the answer.
import { describe, expect, it } from 'vitest';
import { readVmForBackup } from '../../src/actions/backup-world.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { backupWith, FixedCluster, loadScenario, withScopes } from '../fixtures/scenarios.ts';

function withVersion(vm: KubeObject, resourceVersion: string): KubeObject {
  return { ...vm, metadata: { ...vm.metadata, uid: vm.metadata.uid ?? 'vm-uid', resourceVersion } };
}

describe('the VM backup view', () => {
  const s = loadScenario('v15-cluster-types-stopped');
  const vm = withVersion(s.vm, '100');

  it('the second call on the same VM version in the same backup gets the first call\'s view', async () => {
    const kube = withScopes(new FixedCluster(s.cluster));
    const backup = backupWith();
    const first = await readVmForBackup(kube, vm, backup);
    const second = await readVmForBackup(kube, structuredClone(vm), backup);
    expect(second).toBe(first);
    // Shared between calls, so nobody may change it.
    expect(Object.isFrozen(first.graph.items)).toBe(true);
  });

  it('is computed again for another version of the VM, for another backup, and without a per-backup cache', async () => {
    const kube = withScopes(new FixedCluster(s.cluster));
    const backup = backupWith();
    const first = await readVmForBackup(kube, vm, backup);
    expect(await readVmForBackup(kube, withVersion(vm, '101'), backup)).not.toBe(first);
    const other = { ...backup, metadata: { ...backup.metadata, uid: 'another-backup' } };
    expect(await readVmForBackup(kube, vm, other)).not.toBe(first);

    const uncached = new FixedCluster(s.cluster);
    const a = await readVmForBackup(uncached, vm, backup);
    expect(await readVmForBackup(uncached, vm, backup)).not.toBe(a);
    expect((await readVmForBackup(uncached, vm, backup)).graph).toEqual(a.graph);
  });

  it('a metadata-only backup (no volumes looked up) does not get the view of a full one', async () => {
    const kube = withScopes(new FixedCluster(s.cluster));
    const full = await readVmForBackup(kube, vm, backupWith());
    // Same backup UID (so the same per-backup cache), labelled metadata-only.
    const metadataOnly = await readVmForBackup(kube, vm, backupWith({}, { 'velero.kubevirt.io/metadataBackup': 'true' }));
    expect(metadataOnly).not.toBe(full);
  });
});
