// inspect's predictions, VM by VM, from what a backup holds (and what a target cluster holds), through
// the restore action's own decision functions. The same predictions are compared with what a real
// restore does in e2e/inspect.test.ts.
import { describe, expect, it } from 'vitest';
import { readWorld } from '../../src/actions/backup-world.ts';
import { planVmLookups } from '../../src/kubevirt/backup-graph.ts';
import { selfDescribingVm } from '../../src/kubevirt/backup-vm-item.ts';
import { itemKey, type BackupContents } from '../../src/inspect/backup-archive.ts';
import { objectKey, predictBackup, type ClusterFacts, type PredictOptions, type VmReport } from '../../src/inspect/predict.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { FixedCluster, loadScenario } from '../fixtures/scenarios.ts';
import { itemPath } from './tarballs.ts';


const secrets = ['fedora-web-userdata', 'fedora-web-netdata'].map(
  (name): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'apps' } }),
);

/** The scenario's VM as this plugin stores it (label, pinned revisions, embedded copies), or as stored without it. */
async function storedVm(withPlugin: boolean): Promise<{ vm: KubeObject; cluster: KubeObject[] }> {
  const scenario = loadScenario('v15-cluster-types-stopped');
  if (!withPlugin) return { vm: scenario.vm, cluster: scenario.cluster };
  const world = await readWorld(new FixedCluster(scenario.cluster), planVmLookups(scenario.vm, { vmi: false, volumes: false }), 'apps', 'test');
  return { vm: selfDescribingVm(scenario.vm, world).vm, cluster: scenario.cluster };
}

function contents(objects: readonly KubeObject[]): BackupContents {
  const backup: BackupContents = { formatVersion: '1.1.0', items: new Set(), parsed: new Map() };
  for (const obj of objects) {
    const [, resource = '', scope, ...rest] = itemPath(obj).split('/');
    const ref = scope === 'namespaces' ? { resource, namespace: rest[0] ?? '', name: obj.metadata.name ?? '' } : { resource, namespace: '', name: obj.metadata.name ?? '' };
    backup.items.add(itemKey(ref));
    if (obj.kind !== 'Secret') backup.parsed.set(itemKey(ref), obj);
  }
  return backup;
}

const isKind = (...kinds: string[]) => (o: KubeObject) => kinds.includes(o.kind);
const summary = (vm: VmReport) => Object.fromEntries(vm.scenarios.map((s) => [s.scenario, `${s.result}${s.revisions.map((r) => ` ${r.role}:${r.outcome}`).join('')}${s.runnable ? '' : ' NOT-runnable'}`]));

interface Case {
  title: string;
  withPlugin: boolean;
  /** Which of the scenario's cluster objects the backup holds. */
  keep: (o: KubeObject) => boolean;
  cluster?: (vm: KubeObject, all: KubeObject[]) => ClusterFacts;
  mapping?: Record<string, string>;
  sources: { instancetype: string; preference: string };
  outcomes: Record<string, string>;
}

function emptyCluster(): ClusterFacts {
  return { revisions: new Map(), objects: new Map(), namespaces: new Set(), storageClasses: new Set(), volumes: new Set() };
}

/** A scenario's summary where both revisions (instance type and preference) had `outcome`. */
const restoredWith = (outcome: string): string => `restored instancetype:${outcome} preference:${outcome}`;
const REFUSED = 'refused instancetype:refused preference:refused NOT-runnable';
const bothFrom = (source: string): Case['sources'] => ({ instancetype: source, preference: source });

/** The expected summary of each scenario inspect predicts: the three policies, then expand-vms. */
function outcomes(recreate: string, expand: string, fail: string, expandVms: string): Case['outcomes'] {
  return {
    'missing-revision-policy=recreate': recreate,
    'missing-revision-policy=expand': expand,
    'missing-revision-policy=fail': fail,
    'expand-vms=true': expandVms,
  };
}

const CASES: Case[] = [
  {
    title: 'whole namespace backed up with the plugin: revisions in the backup, restored',
    withPlugin: true,
    keep: () => true,
    sources: bothFrom('backup'),
    outcomes: outcomes(restoredWith('restored'), restoredWith('restored'), restoredWith('restored'), 'expanded'),
  },
  {
    title: 'revisions excluded, backed up with the plugin: re-created from the embedded copies; fail refuses',
    withPlugin: true,
    keep: (o) => o.kind !== 'ControllerRevision',
    sources: bothFrom('embedded-copy'),
    outcomes: outcomes(restoredWith('recreate-from-copy'), 'expanded', REFUSED, 'expanded'),
  },
  {
    title: 'revisions excluded, backed up WITHOUT the plugin: re-created from the current objects',
    withPlugin: false,
    keep: (o) => o.kind !== 'ControllerRevision',
    sources: bothFrom('current-object'),
    outcomes: outcomes(restoredWith('recreate-from-object'), 'expanded', REFUSED, 'expanded'),
  },
  {
    title: 'neither revisions nor objects in the backup, empty target: nowhere, refused',
    withPlugin: false,
    keep: isKind('DataVolume', 'PersistentVolumeClaim'),
    sources: bothFrom('nowhere'),
    outcomes: outcomes(REFUSED, REFUSED, REFUSED, REFUSED),
  },
  {
    title: 'the same, but the target cluster (namespace mapped) has the objects: re-created from them',
    withPlugin: false,
    keep: isKind('DataVolume', 'PersistentVolumeClaim'),
    mapping: { apps: 'restored-apps' },
    cluster: (_vm, all) => {
      const facts = emptyCluster();
      for (const o of all.filter(isKind('VirtualMachineClusterInstancetype', 'VirtualMachineClusterPreference'))) {
        facts.objects.set(objectKey({ kind: o.kind, name: o.metadata.name ?? '', clusterScoped: true }, 'restored-apps'), o);
      }
      return facts;
    },
    sources: bothFrom('current-object'),
    outcomes: outcomes(restoredWith('recreate-from-object'), 'expanded', REFUSED, 'expanded'),
  },
  {
    title: 'the revisions already exist in the target namespace: used as they are, whatever the backup holds',
    withPlugin: true,
    keep: (o) => o.kind !== 'ControllerRevision',
    mapping: { apps: 'other' },
    cluster: (_vm, all) => {
      const facts = emptyCluster();
      for (const r of all.filter(isKind('ControllerRevision'))) facts.revisions.set(`other/${r.metadata.name ?? ''}`, r);
      return facts;
    },
    sources: bothFrom('target-cluster'),
    outcomes: outcomes(restoredWith('already-there'), restoredWith('already-there'), restoredWith('already-there'), 'expanded'),
  },
];

describe('inspect predicts each VM under each policy', () => {
  it.each(CASES)('$title', async (c) => {
    const { vm, cluster } = await storedVm(c.withPlugin);
    const opts: PredictOptions = { namespaceMapping: c.mapping ?? {}, ...(c.cluster ? { cluster: c.cluster(vm, cluster) } : {}) };
    const report = predictBackup(contents([vm, ...secrets, ...cluster.filter(c.keep)]), opts);
    expect(report.vms).toHaveLength(1);
    const [predicted] = report.vms as [VmReport];
    expect(predicted.targetNamespace).toBe(c.mapping?.['apps'] ?? 'apps');
    expect(Object.fromEntries(predicted.matchers.map((m) => [m.role, m.revision?.source]))).toEqual(c.sources);
    expect(summary(predicted)).toEqual(c.outcomes);
    expect(report.allRunnable).toBe(!c.outcomes['missing-revision-policy=recreate']?.includes('NOT-runnable'));
  });

  it('a VM backed up with the plugin can be restored alone by its name label; one without cannot', async () => {
    const [withPlugin] = predictBackup(contents([(await storedVm(true)).vm]), { namespaceMapping: {} }).vms;
    expect(withPlugin).toMatchObject({ labelled: true, selector: 'velero.kubevirt.io/vm=fedora-web', runStrategy: 'Halted' });
    const [without] = predictBackup(contents([(await storedVm(false)).vm]), { namespaceMapping: {} }).vms;
    expect(without?.labelled).toBe(false);
  });

  it('disks, secrets and NADs: what the backup lacks makes the VM not runnable; a DataVolume template is re-created without its data', async () => {
    const { vm, cluster } = await storedVm(true);
    const spec = (vm['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
    spec['networks'] = [{ name: 'default', pod: {} }, { name: 'blue', multus: { networkName: 'net/blue' } }];
    const report = predictBackup(contents([vm, ...cluster.filter((o) => o.kind !== 'DataVolume' && o.kind !== 'PersistentVolumeClaim')]), { namespaceMapping: {} });
    const [predicted] = report.vms as [VmReport];
    expect(predicted.volumes.map((v) => `${v.kind} ${v.name} ${v.inBackup} ${v.fromTemplate ?? false}`)).toEqual([
      'DataVolume fedora-web-root false true',
      'Secret fedora-web-userdata false false',
      'Secret fedora-web-netdata false false',
    ]);
    expect(predicted.nads).toEqual([{ namespace: 'net', name: 'blue', inBackup: false }]);
    expect(predicted.selected.runnable).toBe(false);
    expect(predicted.selected.notes).toEqual(
      expect.arrayContaining([expect.stringContaining('WITHOUT the backed-up data'), 'Secret fedora-web-userdata is not in the backup']),
    );
  });

  it("a claim's storage class missing from the target cluster makes the VM not runnable", async () => {
    const { vm, cluster } = await storedVm(true);
    const pvc = cluster.find(isKind('PersistentVolumeClaim'));
    (pvc?.['spec'] as Record<string, unknown>)['storageClassName'] = 'fast-ssd';
    const facts = emptyCluster();
    const [without] = predictBackup(contents([vm, ...secrets, ...cluster]), { namespaceMapping: {}, cluster: facts }).vms;
    expect(without?.volumes[0]).toMatchObject({ name: 'fedora-web-root', storageClass: 'fast-ssd', storageClassInTargetCluster: false });
    expect(without?.selected.runnable).toBe(false);
    expect(without?.selected.notes).toContain('storage class fast-ssd of DataVolume fedora-web-root does not exist in the target cluster');
    facts.storageClasses.add('fast-ssd');
    const [withIt] = predictBackup(contents([vm, ...secrets, ...cluster]), { namespaceMapping: {}, cluster: facts }).vms;
    expect(withIt?.selected.runnable).toBe(true);
  });

  it('the verdict follows the chosen options', async () => {
    const { vm, cluster } = await storedVm(true);
    const backup = contents([vm, ...secrets, ...cluster.filter((o) => o.kind !== 'ControllerRevision')]);
    expect(predictBackup(backup, { namespaceMapping: {} }).allRunnable).toBe(true);
    const fail = predictBackup(backup, { namespaceMapping: {}, options: { missingRevisionPolicy: 'fail', expandVirtualMachines: false } });
    expect(fail).toMatchObject({ allRunnable: false, judgedBy: 'missing-revision-policy=fail' });
  });

  it('a VM with an invalid reference is reported, not thrown', async () => {
    const { vm } = await storedVm(true);
    (vm['spec'] as { instancetype: { kind: string } }).instancetype.kind = 'Deployment';
    const [predicted] = predictBackup(contents([vm]), { namespaceMapping: {} }).vms;
    expect(predicted?.problems[0]).toMatch(/spec.instancetype.kind "Deployment"/);
    expect(predicted?.selected).toMatchObject({ result: 'refused', runnable: false });
  });
});
