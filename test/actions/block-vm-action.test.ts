// The VM item block action: the same related items as the VM backup action, from the same look-ups
// through the same per-backup cache, for every fixture VM.
import { describe, expect, it } from 'vitest';
import { BackupVirtualMachineAction } from '../../src/actions/backup-virtualmachine-action.ts';
import { BlockVmAction } from '../../src/actions/block-vm-action.ts';
import { backupWith, FixedCluster, loadScenario, recordingLogger, scenarioNames, withScopes } from '../fixtures/scenarios.ts';

describe('block-vm-action', () => {
  it('applies to KubeVirt VirtualMachines only', () => {
    expect(new BlockVmAction(new FixedCluster([])).appliesTo()).toEqual({ includedResources: ['virtualmachines.kubevirt.io'] });
  });

  it.each(scenarioNames())('%s: related items = the backup action additional items, at no extra API request', async (name) => {
    const s = loadScenario(name);
    const cluster = new FixedCluster(s.cluster);
    const kube = withScopes(cluster);
    const backup = backupWith();
    // Velero collects the blocks first, then backs the items up: the block action runs first.
    const related = await new BlockVmAction(kube).getRelatedItems({ item: s.vm, backup, log: recordingLogger() });
    const afterBlock = { ...cluster.calls };
    const backedUp = await new BackupVirtualMachineAction(kube).execute({ item: s.vm, backup, log: recordingLogger() });
    expect(related).toEqual(backedUp.additionalItems);
    expect(related.length).toBeGreaterThan(0);
    expect(cluster.calls).toEqual(afterBlock);
  });

  it('leaves the warnings and the VM log line to the backup action (one report per VM): logs nothing', async () => {
    const s = loadScenario('v15-missing-revision');
    const log = recordingLogger();
    const related = await new BlockVmAction(withScopes(new FixedCluster(s.cluster))).getRelatedItems({ item: s.vm, backup: backupWith(), log });
    expect(related.length).toBeGreaterThan(0);
    expect(log.lines).toEqual([]);
  });

  it('includes the launcher pod of a running VM (so Velero runs its hooks in the VM block)', async () => {
    const s = loadScenario('v14-namespaced-running');
    const related = await new BlockVmAction(withScopes(new FixedCluster(s.cluster))).getRelatedItems({
      item: s.vm,
      backup: backupWith(),
      log: recordingLogger(),
    });
    expect(related).toContainEqual({ group: '', resource: 'pods', namespace: 'prod', name: 'virt-launcher-db-x7k2p' });
  });

  it('an API failure is an error naming the VM (Velero logs it and backs the VM up without a block)', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const failing = new FixedCluster(s.cluster);
    failing.list = () => Promise.reject(new Error('LIST controllerrevisions.apps in namespace apps: HTTP 403: forbidden'));
    await expect(
      new BlockVmAction(withScopes(failing)).getRelatedItems({ item: s.vm, backup: backupWith(), log: recordingLogger() }),
    ).rejects.toThrow(/^VM apps\/fedora-web: cannot read the objects it depends on: .*HTTP 403/);
  });
});
