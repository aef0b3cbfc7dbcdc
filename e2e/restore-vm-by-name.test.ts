// Issue 13, part 1: restore ONE VirtualMachine by name through a real Velero. The backup labels every
// stored VM with velero.kubevirt.io/vm=<name>; `velero restore create --selector velero.kubevirt.io/vm=vm1`
// then brings back that VM and exactly what it needs (its revisions, instance type, DataVolume and PVC,
// config map, the shared secret), as additional items of the restore action, and nothing of the others.
import { beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/velero/types.ts';
import { createDataVolumeLikeCdi, createNamespace, createVmLikeKubeVirt, instancetype, virtualMachine, type CreatedVm } from './fixtures/kubevirt.ts';
import { KubeError, type KubeClient } from './harness/kube.ts';
import { waitFor } from './harness/process.ts';
import { useControlPlane, useVelero } from './harness/setup.ts';
import { restoreWarnings, statusOf, type Velero } from './harness/velero.ts';

const NS = 'byname';
const BACKUP = 'byname-b';
const VMS = ['vm1', 'vm2', 'vm3'] as const;
const env = useControlPlane({ controllerManager: true });
useVelero({ on: env });

const created = new Map<string, CreatedVm>();
/** "resource/name" of everything in the namespace when it was backed up. */
let original: string[] = [];

/** A LIST, retried while the API server answers 429 (a CRD's storage still initialising after Velero installed it). */
async function listRetrying(kube: KubeClient, path: string): Promise<KubeObject> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await kube.json('GET', path);
    } catch (err) {
      if (!(err instanceof KubeError) || err.status !== 429 || attempt >= 30) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * Every object in a namespace, as "resource/name", over every namespaced resource the API server serves
 * (discovery), so that an object of a kind nobody thought of is seen too. Events are left out: the API
 * server may write them at any time and Velero never restores them.
 */
async function inventory(kube: KubeClient, namespace: string): Promise<string[]> {
  const groupVersions = ['/api/v1'];
  const groups = (await kube.json('GET', '/apis')) as unknown as { groups: { preferredVersion: { groupVersion: string } }[] };
  for (const g of groups.groups) groupVersions.push(`/apis/${g.preferredVersion.groupVersion}`);
  const found: string[] = [];
  for (const base of groupVersions) {
    const list = (await kube.json('GET', base)) as unknown as { resources: { name: string; namespaced: boolean; verbs: string[] }[] };
    for (const r of list.resources) {
      if (!r.namespaced || r.name.includes('/') || !r.verbs.includes('list') || r.name === 'events') continue;
      const items = (await listRetrying(kube, `${base}/namespaces/${namespace}/${r.name}`)) as unknown as { items: KubeObject[] };
      for (const item of items.items) found.push(`${r.name}/${item.metadata.name ?? ''}`);
    }
  }
  return found.sort();
}

/** What the original namespace held for these VMs: everything but the other VMs' own objects (named after them). */
function expectedFor(vms: readonly string[]): string[] {
  const others = VMS.filter((v) => !vms.includes(v));
  return original.filter((entry) => !others.some((o) => (entry.split('/')[1] ?? '').startsWith(`${o}-`) || entry.endsWith(`/${o}`)));
}

async function restoreByName(velero: Velero, restoreName: string, vmName: string): Promise<{ restore: KubeObject; logs: string; describe: string }> {
  const res = await velero.velero(['restore', 'create', restoreName, '--from-backup', BACKUP, '--selector', `velero.kubevirt.io/vm=${vmName}`, '--wait']);
  expect(res.code, res.stderr).toBe(0);
  return {
    restore: await velero.waitForRestore(restoreName),
    logs: (await velero.velero(['restore', 'logs', restoreName])).stdout,
    describe: (await velero.velero(['restore', 'describe', restoreName, '--details'])).stdout,
  };
}

/** Waits until the restored VM's revisions have it as controller (the restore's re-owning operation). */
async function expectRevisionsOwned(vmName: string): Promise<void> {
  const vm = await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: NS, name: vmName });
  expect(vm).toBeDefined();
  const c = created.get(vmName);
  for (const rev of [c?.instancetypeRevision, c?.preferenceRevision]) {
    if (rev === undefined) continue;
    const key = { apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: NS, name: rev.metadata.name ?? '' };
    const owner = await waitFor(`revision ${key.name} owned by ${vmName}`, async () => {
      const refs = (await env.cp.kube.get(key))?.metadata.ownerReferences ?? [];
      return refs.find((r) => r.controller === true && r.uid === vm?.metadata.uid);
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(owner).toMatchObject({ kind: 'VirtualMachine', name: vmName });
    expect(rev['data']).toBeDefined();
    expect((await env.cp.kube.get(key))?.['data']).toEqual(rev['data']);
  }
}

beforeAll(async () => {
  const kube = env.cp.kube;
  await createNamespace(kube, NS);
  await kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shared-ssh', namespace: NS }, type: 'Opaque', stringData: { key: 'ssh-ed25519 AAAA test' } });
  await kube.create(instancetype({ name: 'shared-it', namespace: NS, cpu: 2, memory: '2Gi' }));
  for (const name of VMS) {
    await kube.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-config`, namespace: NS }, data: { role: name } });
    await createDataVolumeLikeCdi(kube, { name: `${name}-disk`, namespace: NS });
    created.set(
      name,
      await createVmLikeKubeVirt(
        kube,
        virtualMachine({
          name,
          namespace: NS,
          instancetype: { name: 'shared-it', kind: 'virtualmachineinstancetype' },
          // vm2 carries a label of the plugin's key itself: it must come back with the user's value.
          ...(name === 'vm2' ? { labels: { 'velero.kubevirt.io/vm': 'users-own' } } : {}),
          volumes: [
            { name: 'root', dataVolume: { name: `${name}-disk` } },
            { name: 'config', configMap: { name: `${name}-config` } },
            { name: 'ssh', secret: { secretName: 'shared-ssh' } },
          ],
        }),
      ),
    );
  }
  original = await inventory(kube, NS);
  const res = await env.velero.velero(['backup', 'create', BACKUP, '--include-namespaces', NS, '--snapshot-volumes=false', '--wait']);
  expect(res.code, res.stderr).toBe(0);
  expect(statusOf(await env.velero.waitForBackup(BACKUP)).phase).toBe('Completed');
  // Every VM is stored with the label that names it.
  const stored = env.velero.readBackupTarball(BACKUP);
  for (const name of VMS) {
    const vm = stored.get(`resources/virtualmachines.kubevirt.io/namespaces/${NS}/${name}.json`) as KubeObject | undefined;
    expect(vm?.metadata.labels?.['velero.kubevirt.io/vm']).toBe(name);
  }
  // The namespace and everything in it go away.
  await kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: NS });
  await waitFor('namespace deleted', async () => ((await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: NS })) === undefined ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 500,
  });
});

describe('restore one VM by name (--selector velero.kubevirt.io/vm=<name>)', () => {
  it('vm1 comes back with exactly its own objects and the shared ones; its revisions are owned by it; vm2 and vm3 stay absent', async () => {
    // The sanity of the comparison: the original namespace held all three VMs' objects.
    expect(original).toEqual(
      expect.arrayContaining(['virtualmachines/vm1', 'virtualmachines/vm2', 'datavolumes/vm3-disk', 'secrets/shared-ssh', 'virtualmachineinstancetypes/shared-it']),
    );
    const { restore, describe } = await restoreByName(env.velero, 'byname-r1', 'vm1');
    expect(statusOf(restore), describe).toMatchObject({ phase: 'Completed' });
    expect(statusOf(restore).errors ?? 0).toBe(0);
    expect(restoreWarnings(describe)).toEqual([]);
    expect(await inventory(env.cp.kube, NS)).toEqual(expectedFor(['vm1']));
    const vm = await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: NS, name: 'vm1' });
    expect(vm?.metadata.labels?.['velero.kubevirt.io/vm']).toBeUndefined();
    expect(vm?.metadata.annotations?.['velero.kubevirt.io/revision-copies']).toBeUndefined();
    await expectRevisionsOwned('vm1');
  });

  it('vm2 restored by name into the same namespace: the shared secret and instance type are already there, nothing duplicated, no error', async () => {
    const kube = env.cp.kube;
    const secretBefore = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'shared-ssh' });
    const { restore, logs, describe } = await restoreByName(env.velero, 'byname-r2', 'vm2');
    expect(statusOf(restore), describe).toMatchObject({ phase: 'Completed' });
    expect(statusOf(restore).errors ?? 0).toBe(0);
    expect(restoreWarnings(describe)).toEqual([]);
    // Velero found the shared objects in place and left them alone.
    expect(logs).toMatch(/Secret.*shared-ssh.*already exists|shared-ssh.*already exists/);
    const secretAfter = await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: 'shared-ssh' });
    expect(secretAfter?.metadata.uid).toBe(secretBefore?.metadata.uid);
    expect(secretAfter?.metadata.resourceVersion).toBe(secretBefore?.metadata.resourceVersion);
    expect(await inventory(kube, NS)).toEqual(expectedFor(['vm1', 'vm2']));
    const vm2 = await kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: NS, name: 'vm2' });
    expect(vm2?.metadata.labels?.['velero.kubevirt.io/vm']).toBe('users-own');
    expect(vm2?.metadata.annotations?.['velero.kubevirt.io/original-vm']).toBeUndefined();
    await expectRevisionsOwned('vm2');
    await expectRevisionsOwned('vm1');
  });

  it('vm3 restored by name into ANOTHER namespace with the restore labels: its objects follow the mapping, the labels apply', async () => {
    const target = 'byname-copy';
    const res = await env.velero.velero([
      'restore', 'create', 'byname-r3', '--from-backup', BACKUP, '--selector', 'velero.kubevirt.io/vm=vm3',
      '--namespace-mappings', `${NS}:${target}`,
      '--labels', 'velero.kubevirt.io/restore-run-strategy=Always,velero.kubevirt.io/clear-mac-address=true', '--wait',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const restore = await env.velero.waitForRestore('byname-r3');
    const describe = (await env.velero.velero(['restore', 'describe', 'byname-r3', '--details'])).stdout;
    expect(statusOf(restore), describe).toMatchObject({ phase: 'Completed' });
    expect(restoreWarnings(describe)).toEqual([]);
    expect(await inventory(env.cp.kube, target)).toEqual(expectedFor(['vm3']));
    const vm3 = await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: target, name: 'vm3' });
    expect((vm3?.['spec'] as { runStrategy?: string }).runStrategy).toBe('Always');
    expect(vm3?.metadata.labels?.['velero.kubevirt.io/vm']).toBeUndefined();
    const rev = created.get('vm3')?.instancetypeRevision;
    const owner = await waitFor('vm3 revision owned in the target namespace', async () => {
      const found = await env.cp.kube.get({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: target, name: rev?.metadata.name ?? '' });
      return found?.metadata.ownerReferences?.find((r) => r.controller === true && r.uid === vm3?.metadata.uid);
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(owner).toMatchObject({ kind: 'VirtualMachine', name: 'vm3' });
    // The source namespace is untouched by it.
    expect(await inventory(env.cp.kube, NS)).toEqual(expectedFor(['vm1', 'vm2']));
  });

  it('missing-revision-policy=expand: vm1 restored by name into an empty namespace stays PINNED to its revisions, which come from the backup and are owned by it', async () => {
    // At the VM's Execute its revisions are not in the target namespace yet (they come only as its
    // additional items); the backup recorded them as in the backup, so they are not "missing".
    const target = 'byname-exp';
    const restoreName = 'byname-r4';
    const res = await env.velero.velero([
      'restore', 'create', restoreName, '--from-backup', BACKUP, '--selector', 'velero.kubevirt.io/vm=vm1',
      '--namespace-mappings', `${NS}:${target}`, '--labels', 'velero.kubevirt.io/missing-revision-policy=expand', '--wait',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const restore = await env.velero.waitForRestore(restoreName);
    const describe = (await env.velero.velero(['restore', 'describe', restoreName, '--details'])).stdout;
    const logs = (await env.velero.velero(['restore', 'logs', restoreName])).stdout;
    expect(statusOf(restore), describe).toMatchObject({ phase: 'Completed' });
    expect(statusOf(restore).errors ?? 0).toBe(0);
    expect(restoreWarnings(describe)).toEqual([]);
    expect(logs).toContain('missing-revision-policy=expand');
    expect(logs).not.toMatch(/expanded \(missing-revision-policy is expand\)/);
    const vm = await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: target, name: 'vm1' });
    const original = created.get('vm1')?.instancetypeRevision;
    expect(original?.metadata.name).toBeDefined();
    // Pinned to the original revision name, the instance type reference kept (an expanded VM has none).
    expect((vm?.['spec'] as { instancetype?: { name?: string; revisionName?: string } }).instancetype).toMatchObject({
      name: 'shared-it',
      revisionName: original?.metadata.name,
    });
    const key = { apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: target, name: original?.metadata.name ?? '' };
    // Restored by Velero from the backup (its label), not re-created from the copy, with the same data.
    const restored = await env.cp.kube.get(key);
    expect(restored?.metadata.labels?.['velero.io/restore-name']).toBe(restoreName);
    expect(restored?.['data']).toEqual(original?.['data']);
    expect(logs).toMatch(/revision \S+ \([^)]*shared-it\): restored from the backup/);
    const owner = await waitFor('vm1 revision owned in the target namespace', async () => {
      const found = await env.cp.kube.get(key);
      return found?.metadata.ownerReferences?.find((r) => r.controller === true && r.uid === vm?.metadata.uid);
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(owner).toMatchObject({ kind: 'VirtualMachine', name: 'vm1' });
  });
});
