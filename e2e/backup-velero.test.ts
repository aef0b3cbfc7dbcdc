// The backup scenarios of issue 3 through a REAL Velero server loading the built plugin binary, on a
// real control plane: what `velero backup create` stores and what it tells the user.
import { describe, expect, it } from 'vitest';
import type { JsonValue, KubeObject } from '../src/velero/types.ts';
import { revisionCopiesOf } from '../src/kubevirt/revision-copy.ts';
import { useVelero } from './harness/setup.ts';
import { statusOf } from './harness/velero.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, preference, startVmLikeKubeVirt, virtualMachine, type CreatedVm } from './fixtures/kubevirt.ts';

const env = useVelero();

async function backup(name: string, args: string[]): Promise<{ status: ReturnType<typeof statusOf>; items: Map<string, JsonValue>; logs: string }> {
  const res = await env.velero.velero(['backup', 'create', name, '--snapshot-volumes=false', '--wait', ...args]);
  expect(res.code, res.stderr).toBe(0);
  const status = statusOf(await env.velero.waitForBackup(name));
  const logs = await env.velero.velero(['backup', 'logs', name]);
  return { status, items: env.velero.readBackupTarball(name), logs: logs.stdout };
}

/** The stored item: resources/<resource.group>/namespaces/<ns>/<name>.json (or cluster/<name>.json). */
function stored(items: Map<string, JsonValue>, groupResource: string, namespace: string, name: string): KubeObject | undefined {
  const where = namespace === '' ? `cluster/${name}.json` : `namespaces/${namespace}/${name}.json`;
  return items.get(`resources/${groupResource}/${where}`) as KubeObject | undefined;
}

async function vmWithTypes(ns: string, it: string, extra: { labels?: Record<string, string>; disk?: boolean } = {}): Promise<CreatedVm> {
  await createNamespace(env.cp.kube, ns);
  await env.cp.kube.create(instancetype({ name: it, cpu: 2, memory: '2Gi' }));
  await env.cp.kube.create(preference({ name: 'pref', namespace: ns }));
  if (extra.disk) {
    await env.cp.kube.create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'vm1-data', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }
  return createVmLikeKubeVirt(
    env.cp.kube,
    virtualMachine({
      name: 'vm1',
      namespace: ns,
      ...(extra.labels ? { labels: extra.labels } : {}),
      instancetype: { name: it },
      preference: { name: 'pref', kind: 'virtualmachinepreference' },
      ...(extra.disk ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'vm1-data' } }] } : {}),
    }),
  );
}

describe('backups through Velero with this plugin', () => {
  it('a namespace backup carries the VM self-described, its revisions, instance type, preference and disk', async () => {
    const ns = 'bv-ns';
    const created = await vmWithTypes(ns, 'bv-ns-it', { disk: true });
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    const prefRev = created.preferenceRevision?.metadata.name ?? '';
    const { status, items } = await backup('bv-ns-b', ['--include-namespaces', ns]);
    expect(status).toMatchObject({ phase: 'Completed' });
    expect(status.errors ?? 0).toBe(0);

    const vm = stored(items, 'virtualmachines.kubevirt.io', ns, 'vm1');
    expect(vm?.['spec']).toMatchObject({ instancetype: { name: 'bv-ns-it', revisionName: itRev }, preference: { name: 'pref', revisionName: prefRev } });
    const copies = vm === undefined ? [] : revisionCopiesOf(vm);
    expect(copies.map((c) => c.name)).toEqual([itRev, prefRev]);
    expect(copies[0]?.data).toEqual(created.instancetypeRevision?.['data']);
    expect(stored(items, 'controllerrevisions.apps', ns, itRev)).toBeDefined();
    expect(stored(items, 'controllerrevisions.apps', ns, prefRev)).toBeDefined();
    // A cluster-scoped instance type in a namespace backup: only there because the plugin named it.
    expect(stored(items, 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io', '', 'bv-ns-it')).toBeDefined();
    expect(stored(items, 'virtualmachinepreferences.instancetype.kubevirt.io', ns, 'pref')).toBeDefined();
    const pvc = stored(items, 'persistentvolumeclaims', ns, 'vm1-data');
    expect(pvc?.metadata.labels?.['velero.kubevirt.io/pvc-uid']).toBe((await env.cp.kube.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: 'vm1-data' }))?.metadata.uid);
  });

  it('a label-selected backup still carries what the VM needs (additional items ignore the selector)', async () => {
    const ns = 'bv-sel';
    const created = await vmWithTypes(ns, 'bv-sel-it', { labels: { app: 'bv-sel' } });
    const { status, items } = await backup('bv-sel-b', ['--include-namespaces', ns, '--selector', 'app=bv-sel']);
    expect(status).toMatchObject({ phase: 'Completed' });
    expect(stored(items, 'controllerrevisions.apps', ns, created.instancetypeRevision?.metadata.name ?? '')).toBeDefined();
    expect(stored(items, 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io', '', 'bv-sel-it')).toBeDefined();
    expect(stored(items, 'virtualmachinepreferences.instancetype.kubevirt.io', ns, 'pref')).toBeDefined();
  });

  it('a running VM without its VMI in the backup is refused with the reason, naming the VM', async () => {
    const ns = 'bv-run';
    const created = await vmWithTypes(ns, 'bv-run-it');
    await startVmLikeKubeVirt(env.cp.kube, created.vm);
    const { status, logs } = await backup('bv-run-b', ['--include-namespaces', ns, '--include-resources', 'virtualmachines']);
    expect(status.phase).toBe('PartiallyFailed');
    // What the user reads: Velero's own error line, with our message after the rpc status.
    expect(logs).toContain(
      'error executing custom action (groupResource=virtualmachines.kubevirt.io, namespace=bv-run, name=vm1): rpc error: code = Unknown desc = ' +
        `VM cannot be safely backed up: VM ${ns}/vm1 is running and virtualmachineinstances are not included in the backup`,
    );
    // Velero counts that line; the plugin host's own error line about the failed call counts too.
    expect(status.errors).toBeGreaterThanOrEqual(1);
  });

  it('a running VM: VMI and launcher pod go along; the VMI is marked as owned', async () => {
    const ns = 'bv-run2';
    const created = await vmWithTypes(ns, 'bv-run2-it');
    const running = await startVmLikeKubeVirt(env.cp.kube, created.vm);
    const { status, items } = await backup('bv-run2-b', ['--include-namespaces', ns]);
    expect(status).toMatchObject({ phase: 'Completed' });
    expect(stored(items, 'virtualmachineinstances.kubevirt.io', ns, 'vm1')?.metadata.annotations?.['cdi.kubevirt.io/velero.isOwned']).toBe('true');
    expect(stored(items, 'pods', ns, running.launcherPod.metadata.name ?? '')).toBeDefined();
  });

  it('an owned VMI without its VM in the backup is left out', async () => {
    const ns = 'bv-vmi';
    const created = await vmWithTypes(ns, 'bv-vmi-it');
    await startVmLikeKubeVirt(env.cp.kube, created.vm);
    const { status, items } = await backup('bv-vmi-b', ['--include-namespaces', ns, '--include-resources', 'virtualmachineinstances,pods']);
    expect(status.errors ?? 0).toBe(0);
    expect(stored(items, 'virtualmachineinstances.kubevirt.io', ns, 'vm1')).toBeUndefined();
  });

  it('a VM whose revision was deleted is backed up, and the backup log says which VM lacks which revision', async () => {
    const ns = 'bv-miss';
    const created = await vmWithTypes(ns, 'bv-miss-it');
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    const res = await env.cp.kube.request('DELETE', `/apis/apps/v1/namespaces/${ns}/controllerrevisions/${itRev}`);
    expect(res.status).toBe(200);
    const { status, items, logs } = await backup('bv-miss-b', ['--include-namespaces', ns]);
    expect(status.phase).toBe('Completed');
    expect(status.warnings ?? 0).toBeGreaterThan(0);
    expect(logs).toContain(`VM ${ns}/vm1: ControllerRevision \\"${itRev}\\" of VirtualMachineClusterInstancetype \\"bv-miss-it\\" not found`);
    expect(stored(items, 'virtualmachines.kubevirt.io', ns, 'vm1')).toBeDefined();
  });
});
