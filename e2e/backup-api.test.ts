// The backup actions' API paths against a real kube-apiserver: objects are created the way KubeVirt
// creates them (e2e/fixtures/kubevirt.ts), the plugin's own KubeClient reads them, and the VM backup
// action's answer is checked - items, stored VM, embedded copies - along with the requests it cost.
import { beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { useControlPlane } from './harness/setup.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, preference, virtualMachine } from './fixtures/kubevirt.ts';
import { BackupVirtualMachineAction } from '../src/actions/backup-virtualmachine-action.ts';
import { BackupVolumeSnapshotAction } from '../src/actions/backup-volumesnapshot-action.ts';
import { KubeClient } from '../src/kube/client.ts';
import { revisionCopiesOf } from '../src/kubevirt/revision-copy.ts';
import { stringifyJson } from '../src/shared/json.ts';
import type { Backup, KubeObject, ResourceIdentifier } from '../src/velero/types.ts';
import type { LogFields, Logger } from '../src/velero/actions.ts';

const env = useControlPlane();

function pluginClient(options: { listPageSize?: number } = {}): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(env.cp.kubeconfigPath);
  return new KubeClient({ kubeConfig: kc, ...options });
}

function backup(uid: string, spec: Backup['spec'] = {}): Backup {
  return { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: uid, namespace: 'velero', uid }, spec };
}

function logger(lines: string[]): Logger {
  const log: Logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (m: string) => void lines.push(m),
    error: (m: string) => void lines.push(m),
    with: (_f: LogFields) => log,
  };
  return log;
}

const show = (i: ResourceIdentifier): string => `${i.resource}${i.group ? `.${i.group}` : ''} ${i.namespace}/${i.name}`;

beforeAll(async () => {
  await env.cp.kube.create(instancetype({ name: 'u1-medium', cpu: 2, memory: '4Gi' }));
  await env.cp.kube.create(preference({ name: 'fedora' }));
});

async function pvc(namespace: string, name: string): Promise<KubeObject> {
  return env.cp.kube.create({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
}

describe('backup actions against a real kube-apiserver', () => {
  it.each(['status-refs', 'spec-revision-name'] as const)(
    'VM with cluster instance type and preference (%s): items, stored VM and embedded copies',
    async (style) => {
      const ns = `bk-${style === 'status-refs' ? 'v15' : 'v14'}`;
      await createNamespace(env.cp.kube, ns);
      await pvc(ns, 'web-data');
      const created = await createVmLikeKubeVirt(
        env.cp.kube,
        virtualMachine({
          name: 'web',
          namespace: ns,
          instancetype: { name: 'u1-medium' },
          preference: { name: 'fedora' },
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'web-data' } }],
        }),
        { style },
      );
      const itRev = created.instancetypeRevision?.metadata.name ?? '';
      const prefRev = created.preferenceRevision?.metadata.name ?? '';
      const client = pluginClient();
      const warnings: string[] = [];
      const out = await new BackupVirtualMachineAction(client).execute({ item: created.vm, backup: backup(`b-${ns}`), log: logger(warnings) });
      expect(warnings).toEqual([]);
      expect(out.additionalItems?.map(show)).toEqual([
        'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /u1-medium',
        `controllerrevisions.apps ${ns}/${itRev}`,
        'virtualmachineclusterpreferences.instancetype.kubevirt.io /fedora',
        `controllerrevisions.apps ${ns}/${prefRev}`,
        `persistentvolumeclaims ${ns}/web-data`,
      ]);
      const spec = out.item['spec'] as { instancetype: { revisionName?: string }; preference: { revisionName?: string } };
      expect([spec.instancetype.revisionName, spec.preference.revisionName]).toEqual([itRev, prefRev]);
      const copies = revisionCopiesOf(out.item);
      expect(copies.map((c) => c.name)).toEqual([itRev, prefRev]);
      expect(stringifyJson(copies[0]?.data)).toBe(stringifyJson(created.instancetypeRevision?.['data']));
      // The stored VM still is a valid VirtualMachine for the API server (annotation size, shape).
      await env.cp.kube.create({ ...out.item, metadata: { name: 'web-copy', namespace: ns, annotations: out.item.metadata.annotations ?? {} } });
      // Look-ups: one LIST per kind (2 cluster kinds, revisions, PVCs) and nothing else.
      expect(client.counts).toMatchObject({ total: 4, list: 4, get: 0 });
    },
  );

  it('a deleted revision: the VM is backed up, the log says which VM lacks which revision', async () => {
    const ns = 'bk-missing';
    await createNamespace(env.cp.kube, ns);
    const created = await createVmLikeKubeVirt(env.cp.kube, virtualMachine({ name: 'lonely', namespace: ns, instancetype: { name: 'u1-medium' } }));
    const rev = created.instancetypeRevision?.metadata.name ?? '';
    // A DELETE without a body: the harness's delete() sends DeleteOptions without Content-Length,
    // which Node does not chunk for DELETE, and the next request on that connection then fails.
    const deleted = await env.cp.kube.request('DELETE', `/apis/apps/v1/namespaces/${ns}/controllerrevisions/${rev}`);
    expect(deleted.status).toBe(200);
    const warnings: string[] = [];
    const client = pluginClient();
    const out = await new BackupVirtualMachineAction(client).execute({ item: created.vm, backup: backup('b-missing'), log: logger(warnings) });
    expect(out.additionalItems?.map(show)).toEqual(['virtualmachineclusterinstancetypes.instancetype.kubevirt.io /u1-medium']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`VM ${ns}/lonely: ControllerRevision "${rev}" of VirtualMachineClusterInstancetype "u1-medium" not found`);
    // The listing did not have it, so one GET confirmed the absence.
    expect(client.counts).toMatchObject({ list: 2, get: 1 });
  });

  it('LIST pages are followed and int64 values beyond 2^53 survive the round trip', async () => {
    const ns = 'bk-pages';
    await createNamespace(env.cp.kube, ns);
    for (let i = 0; i < 7; i++) {
      await env.cp.kube.create({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: `vm-${i}`, namespace: ns },
        spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} }, terminationGracePeriodSeconds: 9007199254740993n } } },
      });
    }
    const client = pluginClient({ listPageSize: 3 });
    const items = await client.list({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns });
    expect(items.map((i) => i.metadata.name).sort()).toEqual(['vm-0', 'vm-1', 'vm-2', 'vm-3', 'vm-4', 'vm-5', 'vm-6']);
    expect(items.every((i) => i.apiVersion === 'kubevirt.io/v1' && i.kind === 'VirtualMachine')).toBe(true);
    expect(client.counts.list).toBe(3);
    const one = await client.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: 'vm-0' });
    expect(stringifyJson(one)).toContain('"terminationGracePeriodSeconds":9007199254740993');
  });

  it('create and strategic merge patch through the plugin client; errors name the object', async () => {
    const ns = 'bk-write';
    await createNamespace(env.cp.kube, ns);
    const client = pluginClient();
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: ns }, data: { a: '1' } };
    await client.create(cm);
    const patched = await client.strategicMergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' }, { data: { b: '2' } });
    expect(patched['data']).toEqual({ a: '1', b: '2' });
    // Asked for metadata only (the owner patches of a restore), the real API server answers with
    // PartialObjectMetadata: the patch took, and none of the object's content comes back.
    const answered = await client.strategicMergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' }, { data: { c: '3' } }, { answerMetadataOnly: true });
    expect(answered).toMatchObject({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 'c', namespace: ns } });
    expect(answered['data']).toBeUndefined();
    expect((await env.cp.kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'c' }))?.['data']).toEqual({ a: '1', b: '2', c: '3' });
    await expect(client.create(cm)).rejects.toThrow(`CREATE ConfigMap ${ns}/c: HTTP 409`);
  });

  it('VolumeSnapshots get their PVC UID from the real PVC', async () => {
    const ns = 'bk-snap';
    await createNamespace(env.cp.kube, ns);
    const claim = await pvc(ns, 'disk');
    const snap = await env.cp.kube.create({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'disk-snap', namespace: ns },
      spec: { source: { persistentVolumeClaimName: 'disk' } },
    });
    const out = await new BackupVolumeSnapshotAction(pluginClient()).execute({ item: snap, backup: backup('b-snap'), log: logger([]) });
    expect(out.item.metadata.labels?.['velero.kubevirt.io/pvc-uid']).toBe(claim.metadata.uid);
  });
});
