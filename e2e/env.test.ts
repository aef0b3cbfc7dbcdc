// The e2e environment itself works: a real control plane with our CRDs, the controller manager's
// garbage collector, and a real Velero server loading velero-plugin-for-aws and our plugin, backing up
// to a real S3 store. Every scenario test builds on these facts.
import { describe, expect, it } from 'vitest';
import { useControlPlane, useVelero } from './harness/setup.ts';
import { waitFor } from './harness/process.ts';
import {
  createDataVolumeLikeCdi,
  createNamespace,
  createVmLikeKubeVirt,
  instancetype,
  preference,
  virtualMachine,
} from './fixtures/kubevirt.ts';
import { ActionNames, RevisionLabels } from '../src/kubevirt/constants.ts';
import type { KubeObject } from '../src/velero/types.ts';

const env = useControlPlane({ controllerManager: true });

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
}

async function discovery(groupVersion: string): Promise<ApiResource[]> {
  const list = (await env.cp.kube.json('GET', `/apis/${groupVersion}`)) as unknown as { resources: ApiResource[] };
  return list.resources;
}

describe('control plane', () => {
  it.each([
    // groupVersion, resource, kind, namespaced, short names, has /status
    ['kubevirt.io/v1', 'virtualmachines', 'VirtualMachine', true, ['vm', 'vms'], true],
    ['kubevirt.io/v1alpha3', 'virtualmachines', 'VirtualMachine', true, ['vm', 'vms'], true],
    ['kubevirt.io/v1', 'virtualmachineinstances', 'VirtualMachineInstance', true, ['vmi', 'vmis'], false],
    ['instancetype.kubevirt.io/v1beta1', 'virtualmachineinstancetypes', 'VirtualMachineInstancetype', true, ['vminstancetype', 'vminstancetypes', 'vmf', 'vmfs'], false],
    ['instancetype.kubevirt.io/v1beta1', 'virtualmachineclusterinstancetypes', 'VirtualMachineClusterInstancetype', false, ['vmclusterinstancetype', 'vmclusterinstancetypes', 'vmcf', 'vmcfs'], false],
    ['instancetype.kubevirt.io/v1beta1', 'virtualmachinepreferences', 'VirtualMachinePreference', true, ['vmpref', 'vmprefs', 'vmp', 'vmps'], false],
    ['instancetype.kubevirt.io/v1beta1', 'virtualmachineclusterpreferences', 'VirtualMachineClusterPreference', false, ['vmcp', 'vmcps'], false],
    ['cdi.kubevirt.io/v1beta1', 'datavolumes', 'DataVolume', true, ['dv', 'dvs'], true],
    ['snapshot.storage.k8s.io/v1', 'volumesnapshots', 'VolumeSnapshot', true, ['vs'], true],
  ] as const)('serves %s %s (%s, namespaced=%s, short names %j, status=%s)', async (gv, resource, kind, namespaced, shortNames, status) => {
    const resources = await discovery(gv);
    const r = resources.find((x) => x.name === resource);
    expect(r).toMatchObject({ kind, namespaced, shortNames: [...shortNames] });
    expect(resources.some((x) => x.name === `${resource}/status`)).toBe(status);
  });

  it('reports the pinned Kubernetes version', async () => {
    const v = (await env.cp.kube.json('GET', '/version')) as unknown as { gitVersion: string };
    expect(v.gitVersion).toMatch(/^v1\.33\.\d+$/);
  });

  it('keeps VM status apart from spec: status only through the status subresource', async () => {
    await createNamespace(env.cp.kube, 'env-status');
    const vm = virtualMachine({ name: 'vm1', namespace: 'env-status' });
    const created = await env.cp.kube.create({ ...vm, status: { printableStatus: 'Running' } });
    expect(created['status']).toBeUndefined(); // dropped on create, as for KubeVirt's CRD
    const key = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'env-status', name: 'vm1' };
    await env.cp.kube.patchStatus(key, { printableStatus: 'Stopped' });
    await env.cp.kube.mergePatch(key, { status: { printableStatus: 'Running' } }); // ignored on the main resource
    const got = await env.cp.kube.get(key);
    expect(got?.['status']).toEqual({ printableStatus: 'Stopped' });
    // The deprecated version serves the same object.
    const old = await env.cp.kube.get({ ...key, apiVersion: 'kubevirt.io/v1alpha3' });
    expect(old?.metadata.uid).toBe(got?.metadata.uid);
  });

  it('stores ControllerRevisions as KubeVirt does and garbage-collects them when their VM is deleted', async () => {
    const ns = 'env-gc';
    await createNamespace(env.cp.kube, ns);
    await env.cp.kube.create(instancetype({ name: 'env-gc-small', cpu: 2, memory: '2Gi' }));
    await env.cp.kube.create(preference({ name: 'env-gc-pref', namespace: ns }));
    const { vm, instancetypeRevision, preferenceRevision } = await createVmLikeKubeVirt(
      env.cp.kube,
      virtualMachine({ name: 'vm-gc', namespace: ns, instancetype: { name: 'env-gc-small' }, preference: { name: 'env-gc-pref', kind: 'virtualmachinepreference' } }),
    );
    const stored = await env.cp.kube.get({ apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterInstancetype', name: 'env-gc-small' });
    expect(instancetypeRevision?.metadata.name).toBe(`vm-gc-env-gc-small-v1beta1-${stored?.metadata.uid ?? ''}-1`);
    expect(instancetypeRevision?.metadata.labels).toEqual({
      [RevisionLabels.objectKind]: 'VirtualMachineClusterInstancetype',
      [RevisionLabels.objectName]: 'env-gc-small',
      [RevisionLabels.objectUid]: stored?.metadata.uid,
      [RevisionLabels.objectGeneration]: '1',
      [RevisionLabels.objectVersion]: 'v1beta1',
    });
    expect((instancetypeRevision?.['data'] as KubeObject).spec).toEqual({ cpu: { guest: 2 }, memory: { guest: '2Gi' } });
    expect(vm['status']).toMatchObject({
      instancetypeRef: { name: 'env-gc-small', kind: 'virtualmachineclusterinstancetype', controllerRevisionRef: { name: instancetypeRevision?.metadata.name } },
      preferenceRef: { name: 'env-gc-pref', kind: 'virtualmachinepreference', controllerRevisionRef: { name: preferenceRevision?.metadata.name } },
    });

    await env.cp.kube.delete({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: 'vm-gc' });
    for (const rev of [instancetypeRevision, preferenceRevision]) {
      await waitFor(`revision ${rev?.metadata.name ?? ''} garbage-collected`, async () =>
        (await env.cp.kube.get({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: ns, name: rev?.metadata.name ?? '' })) === undefined ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 500 });
    }
  });

  it('makes a DataVolume and its PVC as CDI does: the PVC goes with its DataVolume, the DataVolume with its VM', async () => {
    const ns = 'env-cdi';
    await createNamespace(env.cp.kube, ns);
    const vm = await env.cp.kube.create(virtualMachine({ name: 'vm-dv', namespace: ns, volumes: [{ name: 'root', dataVolume: { name: 'vm-dv-root' } }] }));
    const { dataVolume, pvc } = await createDataVolumeLikeCdi(env.cp.kube, { name: 'vm-dv-root', namespace: ns, owner: vm });
    expect(dataVolume['status']).toEqual({ phase: 'Succeeded', progress: '100.0%' });
    expect(pvc).toMatchObject({ metadata: { labels: { app: 'containerized-data-importer' } }, status: { phase: 'Bound' } });
    await env.cp.kube.delete({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: 'vm-dv' });
    await waitFor('PVC vm-dv-root collected after its VM and DataVolume', async () =>
      (await env.cp.kube.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: 'vm-dv-root' })) === undefined ? true : undefined,
    { timeoutMs: 60_000, intervalMs: 500 });
  });

  it('deletes a namespace with its contents (namespace controller)', async () => {
    await createNamespace(env.cp.kube, 'env-nsdel');
    await env.cp.kube.create(virtualMachine({ name: 'vm1', namespace: 'env-nsdel' }));
    await env.cp.kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'env-nsdel' });
    await waitFor('namespace env-nsdel gone', async () =>
      (await env.cp.kube.get({ apiVersion: 'v1', kind: 'Namespace', name: 'env-nsdel' })) === undefined ? true : undefined,
    { timeoutMs: 90_000, intervalMs: 500 });
  });
});

describe('velero', () => {
  useVelero({ on: env });

  it('lists velero-plugin-for-aws and every action of our plugin with its kind', async () => {
    const res = await env.velero.velero(['plugin', 'get', '-o', 'json']);
    expect(res.code, res.stderr).toBe(0);
    // The ServerStatusRequest the server answered: every plugin it discovered, with its kind.
    const plugins = (JSON.parse(res.stdout) as { status: { plugins: { name: string; kind: string }[] } }).status.plugins;
    expect(plugins).toContainEqual({ name: 'velero.io/aws', kind: 'ObjectStore' });
    const ours = plugins.filter((p) => p.name.startsWith('kubevirt-velero-plugin/'));
    // Every name we register is one of the reference plugin's names, with an item action kind.
    expect(ours.length).toBeGreaterThan(0);
    for (const { name, kind } of ours) {
      expect(Object.values(ActionNames) as string[]).toContain(name);
      expect(kind).toMatch(/^((BackupItemAction|RestoreItemAction)(V2)?|ItemBlockAction)$/);
    }
    // Discovery of our binary went through without errors. (go-plugin's "error encountered while
    // scanning stdout ... file already closed" is its own race when Velero kills a plugin process after
    // use; it is logged for velero-plugin-for-aws alike, so it says nothing about our binary.)
    const errors = env.velero
      .logs()
      .split('\n')
      .filter((l) => l.includes('level=error') && l.includes('kubevirt-velero-plugin') && !l.includes('error encountered while scanning stdout'));
    expect(errors).toEqual([]);
  });

  it('backs up an empty namespace and the tarball is read back from the store', async () => {
    await createNamespace(env.cp.kube, 'env-empty');
    const res = await env.velero.velero(['backup', 'create', 'env-empty-1', '--include-namespaces', 'env-empty', '--snapshot-volumes=false', '--wait']);
    expect(res.code, res.stderr).toBe(0);
    const backup = await env.velero.waitForBackup('env-empty-1');
    expect(backup['status']).toMatchObject({ phase: 'Completed' });
    const items = env.velero.readBackupTarball('env-empty-1');
    const ns = items.get('resources/namespaces/cluster/env-empty.json') as KubeObject | undefined;
    expect(ns?.metadata.name).toBe('env-empty');
    expect([...items.keys()].filter((k) => k.startsWith('resources/') && !k.startsWith('resources/namespaces/'))).toEqual([]);
  });

  it('serves the backup log through the store (DownloadRequest, pre-signed URL to the S3 store)', async () => {
    const res = await env.velero.velero(['backup', 'logs', 'env-empty-1']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/level=info msg="Backed up a total of 1 items"/);
  });
});
