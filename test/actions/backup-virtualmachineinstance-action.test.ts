// The VirtualMachineInstance backup action: dropped when its VM is not in the backup, refused when a
// running VMI would lose its launcher pod or disks, marked when owned.
import { describe, expect, it } from 'vitest';
import { BackupVirtualMachineInstanceAction } from '../../src/actions/backup-virtualmachineinstance-action.ts';
import type { Backup, KubeObject } from '../../src/velero/types.ts';
import { backupWith, FixedCluster, loadScenario, recordingLogger, withScopes, type Scenario } from '../fixtures/scenarios.ts';

const SKIP = 'velero.io/skip-from-backup';
const OWNED = 'cdi.kubevirt.io/velero.isOwned';

function vmiOf(s: Scenario, name: string): KubeObject {
  const vmi = s.cluster.find((o) => o.kind === 'VirtualMachineInstance' && o.metadata.name === name);
  if (vmi === undefined) throw new Error('fixture without VMI');
  return vmi;
}

/** A standalone VMI (no owner) with a DataVolume and a PVC. */
function standalone(): { vmi: KubeObject; cluster: KubeObject[] } {
  const s = loadScenario('plain-standalone-dv');
  return {
    vmi: {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'plain', namespace: 'lab' },
      spec: (s.vm['spec'] as { template: { spec: unknown } }).template.spec,
      status: { phase: 'Running' },
    },
    cluster: [
      ...s.cluster,
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'virt-launcher-plain-1', namespace: 'lab', labels: { 'kubevirt.io': 'virt-launcher' }, annotations: { 'kubevirt.io/domain': 'plain' } } },
    ],
  };
}

interface Case {
  setup: () => { vmi: KubeObject; cluster: KubeObject[] };
  backup: Backup;
  /** 'skipped' | 'owned' | 'kept' or the error text. */
  outcome: string;
  items?: string[];
}

function running(): { vmi: KubeObject; cluster: KubeObject[] } {
  const s = loadScenario('v14-namespaced-running');
  return { vmi: vmiOf(s, 'db'), cluster: s.cluster.concat(s.vm) };
}

const CASES: Record<string, Case> = {
  'owned VMI, VMs in the backup: marked as owned, launcher pod along': {
    setup: running,
    backup: backupWith(),
    outcome: 'owned',
    items: ['pods prod/virt-launcher-db-x7k2p'],
  },
  'owned VMI, VMs not included: dropped from the backup': {
    setup: running,
    backup: backupWith({ includedResources: ['vmi', 'pods'] }),
    outcome: 'skipped',
  },
  'owned VMI whose VM is labelled exclude-from-backup: dropped': {
    setup: () => {
      const r = running();
      const vm = r.cluster.find((o) => o.kind === 'VirtualMachine');
      if (vm) vm.metadata.labels = { 'velero.io/exclude-from-backup': 'true' };
      return r;
    },
    backup: backupWith(),
    outcome: 'skipped',
  },
  'running VMI, pods excluded but PVCs included: refused': {
    setup: running,
    backup: backupWith({ excludedResources: ['pods'] }),
    outcome: 'VM is running but launcher pod is not included in the backup: VMI prod/db: pods are not included but PVCs are',
  },
  'running VMI whose launcher pod is labelled exclude-from-backup: refused': {
    setup: () => {
      const r = running();
      const pod = r.cluster.find((o) => o.metadata.name === 'virt-launcher-db-x7k2p');
      if (pod) pod.metadata.labels = { ...pod.metadata.labels, 'velero.io/exclude-from-backup': 'true' };
      return r;
    },
    backup: backupWith(),
    outcome:
      'VM is running but launcher pod is not included in the backup: VMI prod/db: launcher pod virt-launcher-db-x7k2p is labelled velero.io/exclude-from-backup=true',
  },
  'running VMI without a launcher pod: refused': {
    setup: () => {
      const r = running();
      r.cluster = r.cluster.filter((o) => o.kind !== 'Pod');
      return r;
    },
    backup: backupWith(),
    outcome: 'VM is running but launcher pod is not included in the backup: VMI prod/db is running but its launcher pod was not found',
  },
  'paused VMI, pods excluded: kept (no launcher pod needed)': {
    setup: () => {
      const s = loadScenario('v15-paused');
      return { vmi: vmiOf(s, 'batch'), cluster: s.cluster.concat(s.vm) };
    },
    backup: backupWith({ excludedResources: ['pods'] }),
    outcome: 'owned',
    items: ['pods jobs/virt-launcher-batch-abcde', 'persistentvolumeclaims jobs/batch-root'],
  },
  'standalone VMI with its disks: kept with volumes as additional items': {
    setup: standalone,
    backup: backupWith(),
    outcome: 'kept',
    items: [
      'pods lab/virt-launcher-plain-1',
      'datavolumes.cdi.kubevirt.io lab/plain-root',
      'persistentvolumeclaims lab/plain-root',
      'persistentvolumeclaims lab/plain-data',
    ],
  },
  'standalone VMI, DataVolumes not included: refused': {
    setup: standalone,
    backup: backupWith({ excludedResources: ['datavolumes'] }),
    outcome:
      'VM has DataVolume or PVC volumes and DataVolumes/PVCs is not included in the backup: VMI lab/plain: volume "root": datavolumes are not included in the backup',
  },
  'standalone VMI, DataVolumes not included, metadata-only backup: kept': {
    setup: standalone,
    backup: backupWith({ excludedResources: ['datavolumes'] }, { 'velero.kubevirt.io/metadataBackup': '' }),
    outcome: 'kept',
    items: [
      'pods lab/virt-launcher-plain-1',
      'datavolumes.cdi.kubevirt.io lab/plain-root',
      'persistentvolumeclaims lab/plain-root',
      'persistentvolumeclaims lab/plain-data',
    ],
  },
};

describe('backup-virtualmachineinstance-action', () => {
  for (const [title, c] of Object.entries(CASES)) {
    it(title, async () => {
      const { vmi, cluster } = c.setup();
      const action = new BackupVirtualMachineInstanceAction(withScopes(new FixedCluster(cluster)));
      const run = action.execute({ item: vmi, backup: c.backup, log: recordingLogger() });
      if (!['skipped', 'owned', 'kept'].includes(c.outcome)) {
        await expect(run).rejects.toThrow(c.outcome);
        return;
      }
      const out = await run;
      const annotations = out.item.metadata.annotations ?? {};
      expect(SKIP in annotations).toBe(c.outcome === 'skipped');
      expect(annotations[OWNED]).toBe(c.outcome === 'owned' ? 'true' : undefined);
      if (c.items) {
        expect((out.additionalItems ?? []).map((i) => `${i.resource}${i.group ? `.${i.group}` : ''} ${i.namespace}/${i.name}`)).toEqual(c.items);
      }
      if (c.outcome === 'skipped') expect(out.additionalItems ?? []).toEqual([]);
    });
  }
});
