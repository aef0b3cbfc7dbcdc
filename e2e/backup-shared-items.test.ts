// An object many VMs share (a cluster instance type, a preference, a secret) is handed to Velero once
// per backup by the VM action (src/kubevirt/backup-returned.ts). Through a real Velero with parallel
// item blocks: it must still be in the backup when the first VM naming it is filtered out, and every
// VM's own revisions must be there too.
import { describe, expect, it } from 'vitest';
import { useVelero } from './harness/setup.ts';
import { statusOf } from './harness/velero.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, MatcherKinds, preference, virtualMachine, type CreatedVm } from './fixtures/kubevirt.ts';

// Velero >= 1.16 backs up item blocks in parallel: VMs run through the plugin concurrently.
const env = useVelero({ extraArgs: ['--item-block-worker-count=4'] });

describe('a shared object is returned once per backup, and always reaches the backup', () => {
  it('first VM filtered out by the label selector, 4 item-block workers: the instance type, preference and secret are stored, and every revision', async () => {
    const ns = 'bs-shared';
    await createNamespace(env.cp.kube, ns);
    await env.cp.kube.create(instancetype({ name: 'bs-it', cpu: 2, memory: '2Gi' }));
    await env.cp.kube.create(preference({ name: 'bs-pref', namespace: ns }));
    await env.cp.kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bs-ssh', namespace: ns }, stringData: { key: 'not-a-real-key' } });
    const created: CreatedVm[] = [];
    // vm-0 sorts first and is the one left out by the selector.
    for (let i = 0; i < 6; i++) {
      created.push(
        await createVmLikeKubeVirt(
          env.cp.kube,
          virtualMachine({
            name: `vm-${i}`,
            namespace: ns,
            ...(i === 0 ? {} : { labels: { app: 'bs' } }),
            instancetype: { name: 'bs-it' },
            preference: { name: 'bs-pref', kind: MatcherKinds.preference },
            volumes: [{ name: 'ci', cloudInitNoCloud: { userDataSecretRef: { name: 'bs-ssh' } } }],
          }),
        ),
      );
    }
    const name = 'bs-shared-b';
    const res = await env.velero.velero(['backup', 'create', name, '--include-namespaces', ns, '--selector', 'app=bs', '--snapshot-volumes=false', '--wait']);
    expect(res.code, res.stderr).toBe(0);
    expect(statusOf(await env.velero.waitForBackup(name))).toMatchObject({ phase: 'Completed' });
    const items = env.velero.readBackupTarball(name);
    const has = (groupResource: string, namespace: string, objectName: string): boolean =>
      items.has(`resources/${groupResource}/${namespace === '' ? 'cluster' : `namespaces/${namespace}`}/${objectName}.json`);
    expect(has('virtualmachineclusterinstancetypes.instancetype.kubevirt.io', '', 'bs-it')).toBe(true);
    expect(has('virtualmachinepreferences.instancetype.kubevirt.io', ns, 'bs-pref')).toBe(true);
    expect(has('secrets', ns, 'bs-ssh')).toBe(true);
    expect(has('virtualmachines.kubevirt.io', ns, 'vm-0')).toBe(false);
    for (const c of created.slice(1)) {
      expect(has('virtualmachines.kubevirt.io', ns, c.vm.metadata.name ?? '')).toBe(true);
      for (const rev of [c.instancetypeRevision, c.preferenceRevision]) expect(has('controllerrevisions.apps', ns, rev?.metadata.name ?? '')).toBe(true);
    }
    // The filter did work: later VMs said the shared objects were already handed over.
    const logs = (await env.velero.velero(['backup', 'logs', name])).stdout;
    expect(logs).toMatch(/alreadyReturnedByAnotherVm=3/);
  });
});
