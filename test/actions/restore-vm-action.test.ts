// restore-vm-action end to end over its three calls (execute, areAdditionalItemsReady, progress), in
// the order Velero makes them. The store is the fixed in-memory one of restore-test-kit.ts; the same
// scenarios run against a real kube-apiserver and Velero in e2e/restore*.test.ts.
import { describe, expect, it } from 'vitest';
import { RestoreVmAction } from '../../src/actions/restore-vm-action.ts';
import type { ExpandFn } from '../../src/kubevirt/restore-expand.ts';
import { encodeRevisionCopies, revisionLabelsOf } from '../../src/kubevirt/revision-copy.ts';
import type { JsonObject, JsonValue, KubeObject, Restore } from '../../src/velero/types.ts';
import {
  clusterInstancetype,
  kubevirtRevision,
  MemoryKube,
  namespacedPreference,
  preparedByVelero,
  recordingLogger,
  restoreObject,
  vmFromBackup,
  type VmShape,
} from './restore-test-kit.ts';
import { withScopes } from '../fixtures/scenarios.ts';

const IT_REV = 'vm-u1.medium-v1beta1-it-uid-u1.medium-1';
const revKey = (name: string) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: 'src', name });
const PREF_REV = 'vm-fedora-v1beta1-pref-uid-fedora-2';
const original = clusterInstancetype('u1.medium', 1, '4Gi', 1);
const changed = clusterInstancetype('u1.medium', 8, '32Gi', 2);
const preference = namespacedPreference('fedora', 'src');

function copiesAnnotation(...revisions: [role: 'instancetype' | 'preference', revision: KubeObject][]): Record<string, string> {
  return {
    'velero.kubevirt.io/revision-copies': encodeRevisionCopies(
      revisions.map(([role, r]) => ({ role, name: r.metadata.name ?? '', labels: revisionLabelsOf(r), data: r['data'] as JsonValue })),
    ),
  };
}

const pinnedInstancetype = { name: 'u1.medium', revisionName: IT_REV };
const pinnedShape: VmShape = {
  instancetype: pinnedInstancetype,
  preference: { name: 'fedora', kind: 'VirtualMachinePreference', revisionName: PREF_REV },
  annotations: copiesAnnotation(['instancetype', kubevirtRevision(IT_REV, 'src', original)], ['preference', kubevirtRevision(PREF_REV, 'src', preference)]),
};

function setup(options: { now?: () => number; expand?: ExpandFn; veleroNamespace?: string } = {}) {
  const kube = new MemoryKube();
  const log = recordingLogger();
  const action = new RestoreVmAction({
    kube,
    veleroNamespace: options.veleroNamespace,
    newUuid: () => 'fixed-uuid',
    ...(options.now ? { now: options.now } : {}),
    ...(options.expand ? { expand: options.expand } : {}),
  });
  return { kube, log, action };
}

async function restoreVm(action: RestoreVmAction, kube: MemoryKube, backedUp: KubeObject, restore: Restore, log = recordingLogger()) {
  const out = await action.execute({ item: preparedByVelero(backedUp), itemFromBackup: backedUp, restore, log });
  return { out, log, kube };
}

/** What Velero does after execute(): restores additional items found in the backup, asks, creates the VM. */
async function veleroCreates(kube: MemoryKube, vm: KubeObject, restore: Restore, targetNamespace: string): Promise<KubeObject> {
  const created = structuredClone(vm);
  created.metadata.namespace = targetNamespace;
  created.metadata.labels = { ...created.metadata.labels, 'velero.io/restore-name': restore.metadata.name ?? '' };
  return kube.create(created);
}

const outcomes = (log: ReturnType<typeof recordingLogger>) =>
  log.lines.filter((l) => l.fields['outcome'] !== undefined).map((l) => `${String(l.fields['revision'] ?? '')}: ${String(l.fields['outcome'])}`);

describe('outcome 1, restored: the revisions came from the backup', () => {
  it('a plain restore (revisions restored first, alphabetically): pinned, copies annotation gone, re-owned', async () => {
    const { kube, action } = setup();
    const restore = restoreObject('r1');
    kube.put(original);
    for (const r of [kubevirtRevision(IT_REV, 'src', original), kubevirtRevision(PREF_REV, 'src', preference)]) {
      r.metadata.labels = { ...r.metadata.labels, 'velero.io/restore-name': 'r1' };
      kube.put(r);
    }
    kube.put(preference);
    const { out, log } = await restoreVm(action, kube, vmFromBackup(pinnedShape), restore);

    expect(outcomes(log)).toEqual([`${IT_REV}: restored`, `${PREF_REV}: restored`]);
    expect(out.waitForAdditionalItems).toBeUndefined();
    expect(out.item.metadata.annotations).toBeUndefined();
    expect(out.item['spec']).toMatchObject({ instancetype: { revisionName: IT_REV }, preference: { revisionName: PREF_REV } });
    // The ID also names the pinned revisions, for a VM that KubeVirt expands before Progress runs.
    expect(out.operationId).toMatch(new RegExp(`^own-revisions:src/vm:\\d+:${IT_REV},${PREF_REV}$`));
    // The VM's own disks and secrets are additional items too (parity with the reference plugin).
    expect(out.additionalItems).toEqual([
      { group: 'cdi.kubevirt.io', resource: 'datavolumes', namespace: 'src', name: 'vm-root' },
      { group: '', resource: 'persistentvolumeclaims', namespace: 'src', name: 'vm-root' },
      { group: '', resource: 'secrets', namespace: 'src', name: 'vm-ci' },
    ]);

    // Velero creates the VM, then polls Progress: both orphan revisions get the VM as controller.
    const vm = await veleroCreates(kube, out.item, restore, 'src');
    const progress = await action.progress(out.operationId ?? '', restore, log);
    expect(progress).toMatchObject({ completed: true, err: '', nCompleted: 2, nTotal: 2, operationUnits: 'revisions' });
    expect(progress.started).toBeInstanceOf(Date);
    expect(progress.updated).toBeInstanceOf(Date);
    for (const name of [IT_REV, PREF_REV]) {
      expect(kube.find('apps/v1', 'ControllerRevision', 'src', name)?.metadata.ownerReferences).toEqual([
        { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: vm.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
    }
    // A second poll finds nothing to do.
    const again = await action.progress(out.operationId ?? '', restore, log);
    expect(again).toMatchObject({ completed: true, err: '', nCompleted: 2 });
  });

  it('VM restored alone by selector: revision asked from the backup, then found restored', async () => {
    const { kube, action } = setup();
    const restore = restoreObject('r1');
    const { out, log } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype, annotations: copiesAnnotation(['instancetype', kubevirtRevision(IT_REV, 'src', original)]) }), restore);
    expect(out.waitForAdditionalItems).toBe(true);
    expect(out.additionalItems).toContainEqual({ group: 'apps', resource: 'controllerrevisions', namespace: 'src', name: IT_REV });
    expect(out.additionalItems).toContainEqual({ group: 'instancetype.kubevirt.io', resource: 'virtualmachineclusterinstancetypes', namespace: '', name: 'u1.medium' });
    // Velero restores the additional items from the backup...
    const restored = kubevirtRevision(IT_REV, 'src', original);
    restored.metadata.labels = { ...restored.metadata.labels, 'velero.io/restore-name': 'r1' };
    kube.put(restored);
    // ...and asks.
    expect(await action.areAdditionalItemsReady([], restore, log)).toBe(true);
    expect(outcomes(log)).toEqual([`${IT_REV}: restored`]);
    expect(kube.calls.filter((c) => c.startsWith('create'))).toEqual([]);
  });
});

describe('outcome 2, already there', () => {
  it('uses it, and warns when its definition differs from the point-in-time copy', async () => {
    const { kube, action } = setup();
    kube.put(kubevirtRevision(IT_REV, 'src', changed)); // same name, other content: not from this restore
    const { out, log } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype, annotations: copiesAnnotation(['instancetype', kubevirtRevision(IT_REV, 'src', original)]) }), restoreObject('r1'));
    expect(outcomes(log)).toEqual([`${IT_REV}: already-there`]);
    expect(log.lines.find((l) => l.level === 'warn')?.message).toMatch(/DIFFERS from the point-in-time copy/);
    expect(out.waitForAdditionalItems).toBeUndefined();
  });
});

describe('outcome 3, re-created before the VM exists', () => {
  it('from the point-in-time copy, in the TARGET namespace of a namespace mapping (exact)', async () => {
    const { kube, action } = setup();
    kube.put(changed); // the instance type was changed since the backup
    const restore = restoreObject('r1', { namespaceMapping: { src: 'dst' } });
    const { out, log } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype, annotations: copiesAnnotation(['instancetype', kubevirtRevision(IT_REV, 'src', original)]) }), restore);
    // Additional items keep their BACKUP namespace; Velero maps them itself.
    expect(out.additionalItems).toContainEqual({ group: 'apps', resource: 'controllerrevisions', namespace: 'src', name: IT_REV });
    expect(out.operationId).toMatch(/^own-revisions:dst\/vm:/);
    // The backup did not hold the revision (excluded): nothing appeared.
    expect(await action.areAdditionalItemsReady([], restore, log)).toBe(true);
    const created = kube.find('apps/v1', 'ControllerRevision', 'dst', IT_REV);
    const expected = kubevirtRevision(IT_REV, 'dst', original);
    expect(created?.['data']).toEqual(expected['data']);
    expect(created?.metadata.labels).toEqual(expected.metadata.labels);
    expect(outcomes(log)).toEqual([`${IT_REV}: recreate-from-copy`]);
    expect(kube.find('apps/v1', 'ControllerRevision', 'src', IT_REV)).toBeUndefined();
  });

  it('a backup that excluded revisions: they are not asked for (no Velero warning), and still re-created from the copy', async () => {
    const { kube, action } = setup();
    kube.put({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'backup-1', namespace: 'velero' }, spec: { excludedResources: ['controllerrevisions.apps'] } });
    const restore = restoreObject('r1');
    const { out, log } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype, annotations: copiesAnnotation(['instancetype', kubevirtRevision(IT_REV, 'src', original)]) }), restore);
    expect(out.additionalItems?.filter((i) => i.resource === 'controllerrevisions')).toEqual([]);
    expect(out.waitForAdditionalItems).toBe(true);
    expect(await action.areAdditionalItemsReady([], restore, log)).toBe(true);
    expect(outcomes(log)).toEqual([`${IT_REV}: recreate-from-copy`]);
  });

  it('KubeVirt >= 1.5 VM backed up without this plugin: revision from the status is pinned, re-created from the object', async () => {
    const { kube, action } = setup();
    kube.put(changed);
    const restore = restoreObject('r1');
    const { out, log } = await restoreVm(action, kube, vmFromBackup({ instancetype: { name: 'u1.medium' }, status: { instancetype: IT_REV } }), restore);
    expect(out.item['spec']).toMatchObject({ instancetype: { name: 'u1.medium', revisionName: IT_REV } });
    expect(await action.areAdditionalItemsReady([], restore, log)).toBe(true);
    expect(kube.find('apps/v1', 'ControllerRevision', 'src', IT_REV)?.metadata.labels?.['instancetype.kubevirt.io/object-generation']).toBe('2');
    expect(log.lines.find((l) => l.fields['outcome'] === 'recreate-from-object')?.message).toMatch(/CURRENT definition of VirtualMachineClusterInstancetype u1.medium, not the original one/);
  });
});

describe('outcome 4, expanded (with the real expansion, src/kubevirt/expand/)', () => {
  const template = (vm: KubeObject) => ((vm['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;

  it('expand-vms: the ORIGINAL definition from the copy is inlined, no revision and no operation needed', async () => {
    const { kube, action } = setup();
    kube.put(changed); // the current definition (8 CPUs) must not be used
    kube.put(kubevirtRevision(PREF_REV, 'src', preference));
    const restore = restoreObject('r1', { labels: { 'velero.kubevirt.io/expand-vms': 'true' } });
    const { out, log } = await restoreVm(action, kube, vmFromBackup(pinnedShape), restore);
    expect(out.item['spec']).not.toHaveProperty('instancetype');
    expect(out.item['spec']).not.toHaveProperty('preference');
    expect(template(out.item)['domain']).toMatchObject({ cpu: { sockets: 1 }, memory: { guest: '4Gi' } });
    expect(out.operationId).toBeUndefined();
    expect(out.waitForAdditionalItems).toBeUndefined();
    expect(log.lines.find((l) => l.fields['outcome'] === 'expanded')?.message).toMatch(
      /expanded \(expand-vms is set\): instancetype .* from the point-in-time copy, preference .* from its revision; it needs no revision/,
    );
  });

  it('missing-revision-policy=expand expands when a revision is missing', async () => {
    const { kube, action } = setup();
    const restore = restoreObject('r1', { labels: { 'velero.kubevirt.io/missing-revision-policy': 'expand' } });
    const { out } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype, annotations: copiesAnnotation(['instancetype', kubevirtRevision(IT_REV, 'src', original)]) }), restore);
    expect(out.item['spec']).not.toHaveProperty('instancetype');
    expect(template(out.item)['domain']).toMatchObject({ memory: { guest: '4Gi' } });
  });

  describe('missing-revision-policy=expand, VM restored by selector (its revisions come after its Execute)', () => {
    const recorded = (inBackup: boolean | undefined) =>
      vmFromBackup({
        instancetype: pinnedInstancetype,
        annotations: {
          'velero.kubevirt.io/revision-copies': encodeRevisionCopies([
            {
              role: 'instancetype',
              name: IT_REV,
              labels: revisionLabelsOf(kubevirtRevision(IT_REV, 'src', original)),
              data: kubevirtRevision(IT_REV, 'src', original)['data'] as JsonValue,
              ...(inBackup === undefined ? {} : { inBackup }),
            },
          ]),
        },
      });
    const expandLabel = { 'velero.kubevirt.io/missing-revision-policy': 'expand' };

    it('revisions the backup recorded as in it: pinned, asked for, then restored (not expanded)', async () => {
      const { kube, action } = setup();
      kube.put(original);
      const restore = restoreObject('r1', { labels: expandLabel });
      const { out, log } = await restoreVm(action, kube, recorded(true), restore);
      expect((out.item['spec'] as { instancetype?: { revisionName?: string } }).instancetype?.revisionName).toBe(IT_REV);
      expect(out.waitForAdditionalItems).toBe(true);
      expect(out.additionalItems?.map((i) => `${i.resource}/${i.name}`)).toContain(`controllerrevisions/${IT_REV}`);
      // Velero restores the revision from the backup as the VM's additional item.
      const fromBackup = kubevirtRevision(IT_REV, 'src', original);
      fromBackup.metadata.labels = { ...fromBackup.metadata.labels, 'velero.io/restore-name': 'r1' };
      kube.put(fromBackup);
      expect(await action.areAdditionalItemsReady(out.additionalItems ?? [], restore, log)).toBe(true);
      expect(outcomes(log)).toEqual([`${IT_REV}: restored`]);
    });

    it('the same backup restored without controllerrevisions (restore filter): they cannot come, the VM is expanded', async () => {
      const { kube, action } = setup();
      const restore = restoreObject('r1', { labels: expandLabel });
      restore.spec = { ...restore.spec, excludedResources: ['controllerrevisions'] };
      const { out } = await restoreVm(action, kube, recorded(true), restore);
      expect(out.item['spec']).not.toHaveProperty('instancetype');
    });

    it('recorded as not in the backup, or a backup without the record: expanded as before', async () => {
      for (const inBackup of [false, undefined]) {
        const { kube, action } = setup();
        const { out } = await restoreVm(action, kube, recorded(inBackup), restoreObject('r1', { labels: expandLabel }));
        expect(out.item['spec']).not.toHaveProperty('instancetype');
      }
    });
  });

  it('missing-revision-policy=expand leaves a VM whose revisions are all there alone', async () => {
    const { kube, action } = setup();
    kube.put(kubevirtRevision(IT_REV, 'src', original));
    const restore = restoreObject('r1', { labels: { 'velero.kubevirt.io/missing-revision-policy': 'expand' } });
    const { out } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype }), restore);
    expect(out.item['spec']).toHaveProperty('instancetype');
  });

  it('conflicts keep the references (and say why)', async () => {
    const { kube, action } = setup();
    kube.put(original);
    const backedUp = vmFromBackup({ instancetype: { name: 'u1.medium' } });
    // The VM itself sets guest memory, which the instance type also sets: KubeVirt refuses to expand.
    ((template(backedUp)['domain'] as JsonObject)['memory'] = { guest: '1Gi' });
    const restore = restoreObject('r1', { labels: { 'velero.kubevirt.io/expand-vms': 'true' } });
    const { out, log } = await restoreVm(action, kube, backedUp, restore);
    expect(out.item['spec']).toHaveProperty('instancetype');
    expect(log.lines.find((l) => l.level === 'warn')?.message).toMatch(/not expanded \(expand-vms is set\): conflicts: spec.template.spec.domain.memory/);
  });

  it('no definition at all: the references are kept and the revision is asked from the backup', async () => {
    const { kube, action } = setup();
    const restore = restoreObject('r1', { labels: { 'velero.kubevirt.io/expand-vms': 'true' } });
    const { out, log } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype }), restore);
    expect(out.item['spec']).toHaveProperty('instancetype');
    expect(out.waitForAdditionalItems).toBe(true);
    expect(log.lines.some((l) => /no definition of VirtualMachineClusterInstancetype u1.medium is available/.test(l.message))).toBe(true);
  });

  it('hands the expansion the revision, else the copy (watched through a recording function)', async () => {
    const calls: unknown[] = [];
    const recording: ExpandFn = (vm, instancetype, pref) => {
      calls.push({ instancetype, preference: pref });
      return { ok: true, vm };
    };
    const kube = new MemoryKube();
    const action = new RestoreVmAction({ kube, veleroNamespace: undefined, expand: recording });
    kube.put(kubevirtRevision(PREF_REV, 'src', preference));
    await restoreVm(action, kube, vmFromBackup(pinnedShape), restoreObject('r1', { labels: { 'velero.kubevirt.io/expand-vms': 'true' } }));
    expect(calls).toEqual([{ instancetype: kubevirtRevision(IT_REV, 'src', original)['data'], preference: kubevirtRevision(PREF_REV, 'src', preference)['data'] }]);
  });
});

describe('outcome 5, refused', () => {
  it('names the VM, the revision and the missing instance type', async () => {
    const { kube, action } = setup();
    const restore = restoreObject('r1', { namespaceMapping: { src: 'dst' } });
    const { log, out } = await restoreVm(action, kube, vmFromBackup({ instancetype: { name: 'u1.medium', revisionName: IT_REV } }), restore);
    await expect(action.areAdditionalItemsReady([], restore, log)).rejects.toThrow(
      `VirtualMachine dst/vm cannot be restored: its instancetype revision ${IT_REV} (VirtualMachineClusterInstancetype u1.medium) is neither in the backup nor in namespace dst; the backup holds no point-in-time copy of it, and VirtualMachineClusterInstancetype u1.medium is neither in the backup nor in the cluster`,
    );
    expect(kube.calls.filter((c) => c.startsWith('create'))).toEqual([]);
    // Its re-owning operation ends at once rather than waiting for a VM KubeVirt < 1.6 will not admit.
    expect(await action.progress(out.operationId ?? '', restore, log)).toMatchObject({
      completed: true,
      err: 'VirtualMachine dst/vm was refused (see the restore\'s errors): its revisions were not re-owned',
    });
  });

  it('policy fail from the plugin ConfigMap refuses even with a copy', async () => {
    const { kube, action } = setup({ veleroNamespace: 'velero' });
    kube.put({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kv', namespace: 'velero', labels: { 'velero.io/plugin-config': '', 'kubevirt-velero-plugin/restore-vm-action': 'RestoreItemActionV2' } },
      data: { 'missing-revision-policy': 'fail' },
    });
    const restore = restoreObject('r1');
    const { log } = await restoreVm(action, kube, vmFromBackup({ instancetype: pinnedInstancetype, annotations: copiesAnnotation(['instancetype', kubevirtRevision(IT_REV, 'src', original)]) }), restore);
    await expect(action.areAdditionalItemsReady([], restore, log)).rejects.toThrow(/missing-revision policy is "fail"/);
  });
});

describe('a plugin process that lost its plan', () => {
  it('answers ready and warns that missing revisions were not re-created', async () => {
    const { action, log } = setup();
    expect(await action.areAdditionalItemsReady([], restoreObject('r1'), log)).toBe(true);
    expect(log.lines).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/did not prepare \(was it restarted\?\)/) })]);
  });
});

describe('knobs and bad input', () => {
  it('run strategy, MAC and firmware UUID labels apply to the VM', async () => {
    const { kube, action } = setup();
    const restore = restoreObject('r1', {
      labels: { 'velero.kubevirt.io/restore-run-strategy': 'Halted', 'velero.kubevirt.io/clear-mac-address': 'true', 'velero.kubevirt.io/generate-new-firmware-uuid': '' },
    });
    const { out } = await restoreVm(action, kube, vmFromBackup({}), restore);
    expect(out.item['spec']).toMatchObject({ runStrategy: 'Halted', template: { spec: { domain: { firmware: { uuid: 'fixed-uuid' } } } } });
    expect(JSON.stringify(out.item)).not.toMatch(/macAddress|"running"/);
    expect(out.operationId).toBeUndefined();
  });

  it('a malformed copies annotation is ignored with a warning', async () => {
    const { kube, action } = setup();
    kube.put(original);
    const { out, log } = await restoreVm(action, kube, vmFromBackup({ instancetype: { name: 'u1.medium', revisionName: IT_REV }, annotations: { 'velero.kubevirt.io/revision-copies': 'not json' } }), restoreObject('r1'));
    expect(log.lines.some((l) => l.level === 'warn' && /ignoring its point-in-time revision copies/.test(l.message))).toBe(true);
    expect(out.item.metadata.annotations).toBeUndefined();
  });

  it.each([
    { title: 'plain', labels: {} },
    { title: 'restore labels (run strategy, MAC, firmware UUID)', labels: { 'velero.kubevirt.io/restore-run-strategy': 'Always', 'velero.kubevirt.io/clear-mac-address': 'true' } },
    { title: 'expand-vms', labels: { 'velero.kubevirt.io/expand-vms': 'true' } },
  ])('restored by its name label ($title, namespace mapping): the label goes, a user value comes back, everything it needs is asked for', async ({ labels }) => {
    const { kube, action } = setup();
    const backedUp = vmFromBackup({
      name: 'db01',
      instancetype: pinnedInstancetype,
      preference: pinnedShape.preference ?? { name: 'fedora' },
      annotations: { ...pinnedShape.annotations, 'velero.kubevirt.io/original-vm': 'mine' },
    });
    backedUp.metadata.labels = { app: 'db', 'velero.kubevirt.io/vm': 'db01' };
    const restore = restoreObject('r1', { namespaceMapping: { src: 'dst' }, labels });
    const { out } = await restoreVm(action, kube, backedUp, restore);
    expect(out.item.metadata.labels).toEqual({ app: 'db', 'velero.kubevirt.io/vm': 'mine' });
    expect(out.item.metadata.annotations).toBeUndefined();
    // Whatever selector picked the VM, its disks, secrets, instance type and preference objects come as
    // additional items, named as in the backup (Velero applies the mapping).
    const asked = (out.additionalItems ?? []).map((i) => `${i.resource}/${i.namespace}/${i.name}`);
    expect(asked).toEqual(
      expect.arrayContaining([
        'virtualmachineclusterinstancetypes//u1.medium',
        'virtualmachinepreferences/src/fedora',
        'datavolumes/src/db01-root',
        'persistentvolumeclaims/src/db01-root',
        'secrets/src/db01-ci',
      ]),
    );
    // The revisions too, unless the VM is expanded and needs none.
    const revisions = asked.filter((a) => a.startsWith('controllerrevisions/src/'));
    expect(revisions).toEqual('velero.kubevirt.io/expand-vms' in labels ? [] : [`controllerrevisions/src/${IT_REV}`, `controllerrevisions/src/${PREF_REV}`]);
  });

  it('an invalid namespace mapping is an error', async () => {
    const { kube, action } = setup();
    await expect(restoreVm(action, kube, vmFromBackup({}), restoreObject('r', { namespaceMapping: { src: 'Bad/NS' } }))).rejects.toThrow(/namespace mapping src:Bad\/NS is invalid/);
  });
});

/** A VM that uses `revision` (its instance type's), restored, then created by Velero in src: ready for Progress. */
async function vmRestoredWith(revision: KubeObject) {
  const { kube, action, log } = setup();
  kube.put(revision);
  const restore = restoreObject('r1');
  const { out } = await restoreVm(action, kube, vmFromBackup({ instancetype: { name: 'u1.medium', revisionName: IT_REV } }), restore);
  const vm = await veleroCreates(kube, out.item, restore, 'src');
  return { kube, log, out, restore, vm, progress: () => action.progress(out.operationId ?? '', restore, log) };
}

describe('Progress of the re-owning operation', () => {
  it('waits for the VM, then reports a clear error once the bound has passed', async () => {
    let now = 1_000_000;
    const { kube, action, log } = setup({ now: () => now });
    kube.put(original);
    const restore = restoreObject('r1');
    const { out } = await restoreVm(action, kube, vmFromBackup({ instancetype: { name: 'u1.medium', revisionName: IT_REV } }), restore);
    const id = out.operationId ?? '';
    expect(await action.progress(id, restore, log)).toMatchObject({ completed: false, err: '', description: 'waiting for VirtualMachine src/vm to be created' });
    now += 5 * 60_000 + 1;
    const last = await action.progress(id, restore, log);
    expect(last).toMatchObject({ completed: true, err: 'VirtualMachine src/vm did not appear within 300 s of its restore, so its instance type / preference revisions were given no owner' });
    expect(last.started).toEqual(new Date(1_000_000));
  });

  it('an API error is retried on the next poll, and reported once the bound has passed', async () => {
    let now = 2_000_000;
    const { kube, action, log } = setup({ now: () => now });
    const restore = restoreObject('r1');
    kube.put(original);
    const { out } = await restoreVm(action, kube, vmFromBackup({ instancetype: { name: 'u1.medium', revisionName: IT_REV } }), restore);
    kube.get = () => Promise.reject(new Error('connection refused'));
    expect(await action.progress(out.operationId ?? '', restore, log)).toMatchObject({ completed: false, err: '', description: 'retrying after an API error: connection refused' });
    now += 5 * 60_000 + 1;
    expect(await action.progress(out.operationId ?? '', restore, log)).toMatchObject({
      completed: true,
      err: 'revisions of VirtualMachine src/vm could not be given their owner: connection refused',
    });
  });

  it('leaves a revision controlled by another object alone', async () => {
    const { kube, log, progress } = await vmRestoredWith(kubevirtRevision(IT_REV, 'src', original, 'someone-else'));
    expect(await progress()).toMatchObject({ completed: true, err: '', nCompleted: 1, nTotal: 1 });
    // The patch is refused (another controller), then the revision is read to name it in the warning.
    expect(kube.calls.slice(-2)).toEqual([`strategic-patch ControllerRevision src/${IT_REV}`, `get ControllerRevision src/${IT_REV}`]);
    await expect(kube.get(revKey(IT_REV))).resolves.toMatchObject({ metadata: { ownerReferences: [{ uid: 'someone-else', controller: true }] } });
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      `revision ${IT_REV} is controlled by VirtualMachine vm, not by VirtualMachine src/vm; left as it is`,
    ]);
  });

  it('keeps an owner that is not a controller, and adds the VM as controller in one request', async () => {
    const revision = kubevirtRevision(IT_REV, 'src', original);
    revision.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'keeper', uid: 'cm-uid' }];
    const { kube, vm, progress } = await vmRestoredWith(revision);
    const before = kube.calls.length;
    expect(await progress()).toMatchObject({ completed: true, err: '', nCompleted: 1, nTotal: 1 });
    // One LIST of the namespace's VMs, one patch of the revision: the revision is not read first.
    expect(kube.calls.slice(before)).toEqual([`list VirtualMachine src `, `strategic-patch ControllerRevision src/${IT_REV}`]);
    expect((await kube.get(revKey(IT_REV)))?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'keeper', uid: 'cm-uid' },
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: vm.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
  });

  it('a failed owner patch is retried at the next poll, and the description says why', async () => {
    const { kube, progress } = await vmRestoredWith(kubevirtRevision(IT_REV, 'src', original));
    const patch = kube.strategicMergePatch.bind(kube);
    kube.strategicMergePatch = () => Promise.reject(new Error('connection reset'));
    expect(await progress()).toMatchObject({
      completed: false,
      nCompleted: 0,
      description: `setting owner references on revisions of VirtualMachine src/vm; retrying: revision ${IT_REV}: connection reset`,
    });
    kube.strategicMergePatch = patch;
    expect(await progress()).toMatchObject({ completed: true, err: '', nCompleted: 1 });
  });

  it('a VM that KubeVirt expanded (referencePolicy expandAll) before Progress: its revisions, named by the ID, still get it as owner', async () => {
    const { kube, log, out, vm, progress } = await vmRestoredWith(kubevirtRevision(IT_REV, 'src', original));
    expect(out.operationId).toMatch(new RegExp(`:${IT_REV}$`));
    // virt-controller rewrote the VM: no instance type matcher, nothing in its status.
    const { instancetype: _dropped, ...expandedSpec } = vm['spec'] as JsonObject;
    kube.put({ ...vm, spec: expandedSpec });
    expect(await progress()).toMatchObject({ completed: true, err: '', nCompleted: 1, nTotal: 1 });
    expect((await kube.get(revKey(IT_REV)))?.metadata.ownerReferences).toEqual([
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: vm.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(log.lines.map((l) => l.message)).toContain(`revision ${IT_REV}: VirtualMachine src/vm no longer references it (expanded by KubeVirt); owned by the VM so it goes with it`);
  });

  it('reports a revision that is gone by the time the VM exists', async () => {
    const { kube, out, restore, progress } = await vmRestoredWith(kubevirtRevision(IT_REV, 'src', original));
    kube.objects.clear();
    await veleroCreates(kube, out.item, restore, 'src');
    expect(await progress()).toMatchObject({ completed: true, err: `revision ${IT_REV} used by VirtualMachine src/vm does not exist` });
  });

  it('a VM created after the namespace was listed is read on its own', async () => {
    const { kube, action, log } = setup();
    kube.put(kubevirtRevision(IT_REV, 'src', original));
    const restore = restoreObject('r1');
    const first = await restoreVm(action, kube, vmFromBackup({ name: 'first', instancetype: { name: 'u1.medium', revisionName: IT_REV } }), restore);
    await veleroCreates(kube, first.out.item, restore, 'src');
    const late = await restoreVm(action, kube, vmFromBackup({ name: 'late', instancetype: { name: 'u1.medium', revisionName: IT_REV } }), restore);
    expect(await action.progress(first.out.operationId ?? '', restore, log)).toMatchObject({ completed: true, err: '' });
    await veleroCreates(kube, late.out.item, restore, 'src');
    expect(await action.progress(late.out.operationId ?? '', restore, log)).toMatchObject({ completed: true, err: '', nCompleted: 1 });
    expect(kube.calls.filter((c) => c.startsWith('list VirtualMachine ') || c.startsWith('get VirtualMachine '))).toEqual([
      'list VirtualMachine src ',
      'get VirtualMachine src/late',
    ]);
  });

  it('rejects an operation ID it did not make', async () => {
    const { action, log } = setup();
    await expect(action.progress('something-else:ns/x:1', restoreObject('r'), log)).rejects.toThrow(/was not started by restore-vm-action/);
    await expect(action.progress('own-revisions:Bad_NS/x:1', restoreObject('r'), log)).rejects.toThrow(/invalid VirtualMachine/);
  });
});

describe('API requests of a restore', () => {
  it('200 VMs in a namespace: look-ups are LISTs shared by all VMs, then one patch per revision', async () => {
    const kube = new MemoryKube();
    const action = new RestoreVmAction({ kube: withScopes(kube), veleroNamespace: 'velero', newUuid: () => 'fixed-uuid' });
    const restore = restoreObject('r1');
    const restoredBy = { 'velero.io/restore-name': 'r1' };
    kube.put(original);
    kube.put(preference);
    const vms: KubeObject[] = [];
    for (let i = 0; i < 200; i++) {
      const name = `vm-${i}`;
      const itRev = kubevirtRevision(`${name}-it`, 'src', original);
      const prefRev = kubevirtRevision(`${name}-pref`, 'src', preference);
      for (const rev of [itRev, prefRev]) kube.put({ ...rev, metadata: { ...rev.metadata, labels: { ...rev.metadata.labels, ...restoredBy } } });
      vms.push(
        vmFromBackup({
          name,
          instancetype: { name: 'u1.medium', revisionName: `${name}-it` },
          preference: { name: 'fedora', kind: 'VirtualMachinePreference', revisionName: `${name}-pref` },
          annotations: copiesAnnotation(['instancetype', itRev], ['preference', prefRev]),
        }),
      );
    }
    const log = recordingLogger();
    const ids: string[] = [];
    for (const vm of vms) {
      const { out } = await restoreVm(action, kube, vm, restore, log);
      ids.push(out.operationId ?? '');
      await veleroCreates(kube, out.item, restore, 'src');
    }
    const beforeProgress = kube.calls.length;
    // The first Progress re-owns every other created VM's revisions ahead, in the background.
    expect(await action.progress(ids[0] ?? '', restore, log)).toMatchObject({ completed: true, nCompleted: 2 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(kube.calls.slice(beforeProgress).filter((c) => c.startsWith('strategic-patch'))).toHaveLength(400);
    for (const id of ids.slice(1)) expect(await action.progress(id, restore, log)).toMatchObject({ completed: true, err: '', nCompleted: 2 });
    const calls = kube.calls.filter((c) => !c.startsWith('create VirtualMachine ')); // Velero's creates
    const verbs = (from: number) => calls.slice(from).map((c) => c.split(' ')[0]);
    expect(calls.filter((c) => c.startsWith('get ')).length).toBeLessThanOrEqual(2); // the Backup, once
    expect(verbs(0).filter((v) => v === 'strategic-patch')).toHaveLength(400);
    expect(calls.length / 200).toBeLessThanOrEqual(2.1);
    expect(kube.calls.slice(beforeProgress).filter((c) => !c.startsWith('strategic-patch'))).toEqual(['list VirtualMachine src ']);
    expect(outcomes(log).filter((o) => o.endsWith(': restored'))).toHaveLength(400);
  });
});

describe('restore-vm-action: Multus networks under --namespace-mappings', () => {
  it('maps namespace/name network names, and asks for the NADs by their names in the backup', async () => {
    const { kube, action } = setup();
    const backedUp = vmFromBackup({});
    const templateSpec = (backedUp['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
    templateSpec['networks'] = [
      { name: 'default', pod: {} },
      { name: 'local', multus: { networkName: 'local-net' } },
      { name: 'shared', multus: { networkName: 'infra/shared-vlan' } },
    ];
    const restore = restoreObject('r', { namespaceMapping: { src: 'dst', infra: 'infra-dst' } });
    const { out, log } = await restoreVm(action, kube, backedUp, restore);
    const networks = (out.item['spec'] as { template: { spec: { networks: unknown[] } } }).template.spec.networks;
    expect(networks).toEqual([
      { name: 'default', pod: {} },
      { name: 'local', multus: { networkName: 'local-net' } },
      { name: 'shared', multus: { networkName: 'infra-dst/shared-vlan' } },
    ]);
    const nads = out.additionalItems?.filter((i) => i.resource === 'network-attachment-definitions');
    expect(nads).toEqual([
      { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', namespace: 'src', name: 'local-net' },
      { group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', namespace: 'infra', name: 'shared-vlan' },
    ]);
    expect(log.lines.some((l) => l.message.includes('network "shared": infra/shared-vlan -> infra-dst/shared-vlan'))).toBe(true);
  });
});
