// Which VMs the backup refuses, and why: the safety checks of a VM backup against the backup's
// filters and labels, over the VM manifests of test/fixtures/vms/.
import { describe, expect, it } from 'vitest';
import { readWorld } from '../../src/actions/backup-world.ts';
import { checkVmBackup, isMetadataBackup } from '../../src/kubevirt/backup-checks.ts';
import { planVmLookups } from '../../src/kubevirt/backup-graph.ts';
import type { Backup } from '../../src/velero/types.ts';
import { backupWith, FixedCluster, loadScenario, type Scenario } from '../fixtures/scenarios.ts';

const EXCLUDE = { 'velero.io/exclude-from-backup': 'true' };
const METADATA = { 'velero.kubevirt.io/metadataBackup': 'true' };

function label(s: Scenario, kind: string, name: string, labels: Record<string, string>): void {
  const object = s.cluster.find((o) => o.kind === kind && o.metadata.name === name);
  if (object === undefined) throw new Error(`fixture has no ${kind} ${name}`);
  object.metadata.labels = { ...(object.metadata.labels ?? {}), ...labels };
}

function remove(s: Scenario, kind: string, name: string): void {
  s.cluster = s.cluster.filter((o) => !(o.kind === kind && o.metadata.name === name));
}

interface Case {
  scenario: string;
  backup: Backup;
  change?: (s: Scenario) => void;
  /** The whole error text, or undefined when the VM may be backed up. */
  error: string | undefined;
  warnings?: string[];
}

const CASES: Record<string, Case> = {
  'running VM, whole-namespace backup: accepted': {
    scenario: 'v14-namespaced-running',
    backup: backupWith({ includedNamespaces: ['prod'] }),
    error: undefined,
  },
  'running VM, only virtualmachines included: refused (no VMI)': {
    scenario: 'v14-namespaced-running',
    backup: backupWith({ includedResources: ['virtualmachines'] }),
    error: 'VM cannot be safely backed up: VM prod/db is running and virtualmachineinstances are not included in the backup',
  },
  'running VM, VMIs excluded by short name: refused': {
    scenario: 'v14-namespaced-running',
    backup: backupWith({ excludedResources: ['vmi'] }),
    error: 'VM cannot be safely backed up: VM prod/db is running and virtualmachineinstances are not included in the backup',
  },
  'running VM whose VMI is labelled exclude-from-backup: refused': {
    scenario: 'v14-namespaced-running',
    backup: backupWith(),
    change: (s) => label(s, 'VirtualMachineInstance', 'db', EXCLUDE),
    error: 'VM cannot be safely backed up: VM prod/db is running and its VMI is labelled velero.io/exclude-from-backup=true',
  },
  'running VM, pods excluded but PVCs included: refused (launcher pod carries the freeze hooks)': {
    scenario: 'v14-namespaced-running',
    backup: backupWith({ excludedResources: ['pods'] }),
    error:
      'VM cannot be safely backed up: VM prod/db is running and the backup contains PVCs but not pods ' +
      '(the launcher pod carries the guest freeze/thaw hooks that make its disks consistent)',
  },
  'running VM, pods and PVCs excluded: the disks are then missing': {
    scenario: 'v14-namespaced-running',
    backup: backupWith({ excludedResources: ['pods', 'PersistentVolumeClaims'] }),
    error: 'VM would not be restored correctly: VM prod/db: volume "root": persistentvolumeclaims are not included in the backup',
  },
  'running VM, metadata-only backup without pods and PVCs: accepted (volume checks skipped)': {
    scenario: 'v14-namespaced-running',
    backup: backupWith({ excludedResources: ['pods', 'persistentvolumeclaims'] }, METADATA),
    error: undefined,
  },
  'running VM, scoped filters excluding VMIs: refused': {
    scenario: 'v14-namespaced-running',
    backup: backupWith({ excludedNamespaceScopedResources: ['virtualmachineinstances.kubevirt.io'] }),
    error: 'VM cannot be safely backed up: VM prod/db is running and virtualmachineinstances are not included in the backup',
  },
  'running VM without a VMI yet: accepted with a warning': {
    scenario: 'v14-namespaced-running',
    backup: backupWith(),
    change: (s) => remove(s, 'VirtualMachineInstance', 'db'),
    error: undefined,
    warnings: ['VM prod/db is running but has no VirtualMachineInstance yet; it is backed up without one'],
  },
  'paused VM, only VMs and PVCs included: accepted (a paused VM is not running)': {
    scenario: 'v15-paused',
    backup: backupWith({ includedResources: ['vm', 'pvc'] }),
    error: undefined,
    warnings: ['VM jobs/batch: controllerrevisions are not included in the backup'],
  },
  'paused VM, only VMs included: its PVC would be missing': {
    scenario: 'v15-paused',
    backup: backupWith({ includedResources: ['VirtualMachine'] }),
    error: 'VM would not be restored correctly: VM jobs/batch: volume "root": persistentvolumeclaims are not included in the backup',
  },
  'stopped VM whose disk comes from dataVolumeTemplates, only VMs included: accepted (KubeVirt re-creates it)': {
    scenario: 'v15-cluster-types-stopped',
    backup: backupWith({ includedResources: ['virtualmachines.kubevirt.io'] }),
    error: undefined,
    warnings: ['VM apps/fedora-web: controllerrevisions are not included in the backup'],
  },
  'standalone DataVolume, datavolumes not included: refused': {
    scenario: 'plain-standalone-dv',
    backup: backupWith({ includedResources: ['virtualmachines.kubevirt.io', 'persistentvolumeclaims'] }),
    error: 'VM would not be restored correctly: VM lab/plain: volume "root": datavolumes are not included in the backup',
  },
  'standalone DataVolume excluded by the scoped filter (short name): refused': {
    scenario: 'plain-standalone-dv',
    backup: backupWith({ excludedNamespaceScopedResources: ['dv'] }),
    error: 'VM would not be restored correctly: VM lab/plain: volume "root": datavolumes are not included in the backup',
  },
  'standalone DataVolume labelled exclude-from-backup: refused': {
    scenario: 'plain-standalone-dv',
    backup: backupWith(),
    change: (s) => label(s, 'DataVolume', 'plain-root', EXCLUDE),
    error: 'VM would not be restored correctly: VM lab/plain: volume "root": DataVolume "plain-root" is labelled velero.io/exclude-from-backup=true',
  },
  'completed DataVolume whose PVC is labelled exclude-from-backup: refused (CDI would wait for it forever)': {
    scenario: 'plain-standalone-dv',
    backup: backupWith(),
    change: (s) => label(s, 'PersistentVolumeClaim', 'plain-root', EXCLUDE),
    error: 'VM would not be restored correctly: VM lab/plain: volume "root": PVC "plain-root" is labelled velero.io/exclude-from-backup=true',
  },
  'DataVolume gone (garbage-collected), its PVC present: accepted': {
    scenario: 'plain-standalone-dv',
    backup: backupWith(),
    change: (s) => remove(s, 'DataVolume', 'plain-root'),
    error: undefined,
  },
  'DataVolume gone and its PVC labelled exclude-from-backup: refused': {
    scenario: 'plain-standalone-dv',
    backup: backupWith(),
    change: (s) => {
      remove(s, 'DataVolume', 'plain-root');
      label(s, 'PersistentVolumeClaim', 'plain-root', EXCLUDE);
    },
    error:
      'VM would not be restored correctly: VM lab/plain: volume "root": PVC "plain-root" is labelled velero.io/exclude-from-backup=true ' +
      '(and DataVolume "plain-root" does not exist)',
  },
  'PVC volume whose claim does not exist: refused': {
    scenario: 'plain-standalone-dv',
    backup: backupWith(),
    change: (s) => remove(s, 'PersistentVolumeClaim', 'plain-data'),
    error: 'VM would not be restored correctly: VM lab/plain: volume "data": PVC "plain-data" not found',
  },
  'PVC volume labelled exclude-from-backup, metadata-only backup: accepted': {
    scenario: 'plain-standalone-dv',
    backup: backupWith({}, METADATA),
    change: (s) => label(s, 'PersistentVolumeClaim', 'plain-data', EXCLUDE),
    error: undefined,
  },
  'ControllerRevisions excluded: accepted, with a warning that the embedded copies will be used': {
    scenario: 'v15-cluster-types-stopped',
    backup: backupWith({ excludedResources: ['controllerrevisions.apps'] }),
    error: undefined,
    warnings: ['VM apps/fedora-web: controllerrevisions are not included in the backup'],
  },
};

describe('VM backup safety checks', () => {
  for (const [title, c] of Object.entries(CASES)) {
    it(title, async () => {
      const scenario = loadScenario(c.scenario);
      c.change?.(scenario);
      const plan = planVmLookups(scenario.vm, { vmi: true, volumes: !isMetadataBackup(c.backup) });
      const world = await readWorld(new FixedCluster(scenario.cluster), plan, scenario.vm.metadata.namespace ?? '', 'test');
      const result = checkVmBackup(scenario.vm, c.backup, world);
      expect(result.error).toBe(c.error);
      expect(result.warnings.length).toBe((c.warnings ?? []).length);
      (c.warnings ?? []).forEach((w, i) => expect(result.warnings[i]).toContain(w));
    });
  }
});
