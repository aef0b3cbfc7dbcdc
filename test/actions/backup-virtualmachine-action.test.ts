// The VirtualMachine backup action end to end over a fixed set of cluster objects: what Velero gets
// back (item, additional items, error text), what the backup log says, and what it costs in API calls.
import { describe, expect, it } from 'vitest';
import { BackupVirtualMachineAction } from '../../src/actions/backup-virtualmachine-action.ts';
import { revisionCopiesOf } from '../../src/kubevirt/revision-copy.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { backupWith, FixedCluster, loadScenario, recordingLogger, withScopes } from '../fixtures/scenarios.ts';

describe('backup-virtualmachine-action', () => {
  it('applies to KubeVirt VirtualMachines only (fully qualified: other projects have a VirtualMachine kind)', () => {
    expect(new BackupVirtualMachineAction(new FixedCluster([])).appliesTo()).toEqual({
      includedResources: ['virtualmachines.kubevirt.io'],
    });
  });

  it('returns the self-describing VM and its related items', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const action = new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster)));
    const log = recordingLogger();
    const out = await action.execute({ item: s.vm, backup: backupWith(), log });
    expect(out.additionalItems?.length).toBe(8);
    expect((out.item['spec'] as { instancetype: { revisionName: string } }).instancetype.revisionName).toBe(
      'fedora-web-u1.medium-v1beta1-3b0c1d52-7a8e-4f4c-a1b2-c3d4e5f60718-1',
    );
    expect(revisionCopiesOf(out.item).map((c) => c.role)).toEqual(['instancetype', 'preference']);
    expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('records in each copy whether the revision itself goes into the backup (for a restore by selector)', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const run = async (spec: Parameters<typeof backupWith>[0], mustInclude = false) => {
      const item = mustInclude
        ? { ...s.vm, metadata: { ...s.vm.metadata, annotations: { ...s.vm.metadata.annotations, 'backup.velero.io/must-include-additional-items': 'true' } } }
        : s.vm;
      const out = await new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster))).execute({ item, backup: backupWith(spec), log: recordingLogger() });
      return revisionCopiesOf(out.item).map((c) => `${c.role}:${String(c.inBackup)}`);
    };
    expect(await run({})).toEqual(['instancetype:true', 'preference:true']);
    // Velero drops a returned revision its filters exclude...
    expect(await run({ excludedResources: ['controllerrevisions'] })).toEqual(['instancetype:false', 'preference:false']);
    // ...unless the VM asks it to take its additional items whatever the filters.
    expect(await run({ excludedResources: ['controllerrevisions'] }, true)).toEqual(['instancetype:true', 'preference:true']);
  });

  it('a revision labelled velero.io/exclude-from-backup is recorded as not in the backup', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const rev = s.cluster.find((o) => o.kind === 'ControllerRevision' && o.metadata.name?.includes('u1.medium'));
    if (rev === undefined) throw new Error('scenario has no instance type revision');
    rev.metadata.labels = { ...rev.metadata.labels, 'velero.io/exclude-from-backup': 'true' };
    const out = await new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster))).execute({ item: s.vm, backup: backupWith(), log: recordingLogger() });
    expect(revisionCopiesOf(out.item).map((c) => `${c.role}:${String(c.inBackup)}`)).toEqual(['instancetype:false', 'preference:true']);
  });

  it('refuses a running VM whose VMI is left out, naming the VM (Velero shows this text to the user)', async () => {
    const s = loadScenario('v14-namespaced-running');
    const action = new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster)));
    await expect(
      action.execute({ item: s.vm, backup: backupWith({ includedResources: ['virtualmachines'] }), log: recordingLogger() }),
    ).rejects.toThrow(
      'VM cannot be safely backed up: VM prod/db is running and virtualmachineinstances are not included in the backup',
    );
  });

  it('writes warnings about a missing revision to the backup log, and still backs the VM up', async () => {
    const s = loadScenario('v15-missing-revision');
    const log = recordingLogger();
    const out = await new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster))).execute({
      item: s.vm,
      backup: backupWith(),
      log,
    });
    expect(out.item.metadata.name).toBe('legacy');
    const warnings = log.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings.some((w) => w.includes('VM apps/legacy') && w.includes('legacy-u1.small-v1beta1') && w.includes('not found'))).toBe(true);
  });

  it('an API failure fails the item with a message naming the VM and the object', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const failing = new FixedCluster(s.cluster);
    failing.list = () => Promise.reject(new Error('LIST controllerrevisions.apps in namespace apps: HTTP 403: forbidden'));
    await expect(
      new BackupVirtualMachineAction(withScopes(failing)).execute({ item: s.vm, backup: backupWith(), log: recordingLogger() }),
    ).rejects.toThrow(/^VM apps\/fedora-web: cannot read the objects it depends on: .*HTTP 403/);
  });

  it('returns an object several VMs share once per backup, and again in another backup', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const action = new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster)));
    const names = (out: { additionalItems?: { resource: string }[] }): string[] => (out.additionalItems ?? []).map((i) => i.resource);
    const first = await action.execute({ item: s.vm, backup: backupWith(), log: recordingLogger() });
    expect(names(first)).toContain('virtualmachineclusterinstancetypes');
    const log = recordingLogger();
    const again = await action.execute({ item: s.vm, backup: backupWith(), log });
    expect(names(again)).toEqual([]);
    expect(log.lines.some((l) => l.message.includes('backing up with 8 related items'))).toBe(true);
    const otherBackup = await action.execute({ item: s.vm, backup: backupWith({}, {}, 'backup-uid-2'), log: recordingLogger() });
    expect(names(otherBackup)).toEqual(names(first));
  });

  it("leaves out what Velero's own listing of the backup holds (no selector, made before the backup)", async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    for (const o of s.cluster) o.metadata.creationTimestamp = '2026-11-30T08:00:00Z';
    const action = new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster)));
    const backup = { ...backupWith(), metadata: { ...backupWith().metadata, creationTimestamp: '2026-11-30T09:00:00Z' } };
    const out = await action.execute({ item: s.vm, backup, log: recordingLogger() });
    const resources = (out.additionalItems ?? []).map((i) => i.resource);
    expect(resources).not.toContain('controllerrevisions');
    expect(resources).toContain('virtualmachineclusterinstancetypes');
    // With a label selector Velero's listing may miss them: they are returned.
    const selected = await new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster))).execute({
      item: s.vm,
      backup: { ...backup, spec: { labelSelector: { matchLabels: { app: 'x' } } } },
      log: recordingLogger(),
    });
    expect((selected.additionalItems ?? []).map((i) => i.resource)).toContain('controllerrevisions');
  });

  it('a refused VM hands nothing over, so the next VM naming the same objects still returns them', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const action = new BackupVirtualMachineAction(withScopes(new FixedCluster(s.cluster)));
    const failing = structuredClone(s.vm);
    failing.metadata.namespace = '../bad';
    await expect(action.execute({ item: failing, backup: backupWith(), log: recordingLogger() })).rejects.toThrow();
    const out = await action.execute({ item: s.vm, backup: backupWith(), log: recordingLogger() });
    expect(out.additionalItems?.length).toBe(8);
  });

  it('refuses an item whose namespace or name is not a valid Kubernetes name', async () => {
    const s = loadScenario('plain-standalone-dv');
    s.vm.metadata.namespace = '../kube-system';
    await expect(
      new BackupVirtualMachineAction(new FixedCluster([])).execute({ item: s.vm, backup: backupWith(), log: recordingLogger() }),
    ).rejects.toThrow('invalid namespace or name');
  });

  it('1,000 VMs in a namespace cost at most 0.1 API requests per VM', async () => {
    const cluster: KubeObject[] = [
      { apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterInstancetype', metadata: { name: 'u1.small' } },
      { apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterPreference', metadata: { name: 'fedora' } },
    ];
    const vms: KubeObject[] = [];
    const template = loadScenario('v15-cluster-types-stopped');
    for (let i = 0; i < 1000; i++) {
      const name = `vm-${i}`;
      const vm = structuredClone(template.vm);
      vm.metadata = { name, namespace: 'big' };
      const spec = vm['spec'] as Record<string, unknown>;
      spec['instancetype'] = { kind: 'virtualmachineclusterinstancetype', name: 'u1.small' };
      spec['preference'] = { kind: 'virtualmachineclusterpreference', name: 'fedora' };
      spec['dataVolumeTemplates'] = [];
      (spec['template'] as { spec: { volumes: unknown[] } }).spec.volumes = [{ name: 'root', dataVolume: { name: `${name}-root` } }];
      vm['status'] = {
        printableStatus: 'Stopped',
        instancetypeRef: { name: 'u1.small', controllerRevisionRef: { name: `${name}-u1.small-1` } },
        preferenceRef: { name: 'fedora', controllerRevisionRef: { name: `${name}-fedora-1` } },
      };
      vms.push(vm);
      for (const rev of [`${name}-u1.small-1`, `${name}-fedora-1`]) {
        cluster.push({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: rev, namespace: 'big' }, data: { spec: {} } });
      }
      cluster.push({ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name: `${name}-root`, namespace: 'big' }, status: { phase: 'Succeeded' } });
      cluster.push({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `${name}-root`, namespace: 'big' } });
    }
    const fixed = new FixedCluster(cluster);
    const action = new BackupVirtualMachineAction(withScopes(fixed));
    const backup = backupWith();
    const returned = new Set<string>();
    for (const [i, vm] of vms.entries()) {
      const out = await action.execute({ item: vm, backup, log: recordingLogger() });
      // The shared cluster instance type and preference come with the first VM only.
      expect(out.additionalItems?.length).toBe(i === 0 ? 6 : 4);
      for (const id of out.additionalItems ?? []) returned.add(`${id.resource}/${id.name}`);
    }
    expect(returned.size).toBe(2 + 4 * 1000);
    const total = fixed.calls.get + fixed.calls.list;
    expect(total / 1000).toBeLessThanOrEqual(0.1);
    // One LIST per namespace and kind: 2 cluster kinds, revisions, DataVolumes, PVCs.
    expect(fixed.calls).toEqual({ get: 0, list: 5, create: 0, patch: 0 });
  });
});
