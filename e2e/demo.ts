// `npm run demo`: the plugin doing its job, end to end, on real components. It brings up a real
// control plane (etcd, kube-apiserver, kube-controller-manager) and a real Velero server with this
// plugin installed by its own install mode, creates VirtualMachines that use instance types and
// preferences (both KubeVirt styles of recording revisions), backs them up with `velero backup create`,
// changes and deletes everything, restores with `velero restore create`, and shows what was captured,
// what the plugin did for each VM, and that the restored VMs match the originals.
// No KubeVirt controllers run here: objects are created the way KubeVirt would (e2e/fixtures/).
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import {
  createNamespace,
  createVmLikeKubeVirt,
  type CreatedVm,
  INSTANCETYPE_API_VERSION,
  instancetype,
  preference,
  virtualMachine,
} from './fixtures/kubevirt.ts';
import { type ControlPlane, startControlPlane } from './harness/control-plane.ts';
import { waitFor } from './harness/process.ts';
import { makePluginDir, startVelero, type Velero } from './harness/velero.ts';

const NS = 'demo';
const out = (line = '') => process.stdout.write(`${line}\n`);
const step = (title: string) => out(`\n\u001b[1m== ${title}\u001b[0m`);
let failures = 0;
const check = (ok: boolean, what: string) => {
  if (!ok) failures++;
  out(`  ${ok ? '\u2713' : '\u2717 FAILED:'} ${what}`);
};

const revisionKey = (name: string) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: NS, name });
const vmKey = (name: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: NS, name });

function specOf(obj: KubeObject | undefined): JsonObject {
  return ((obj?.['spec'] ?? {}) as JsonObject) ?? {};
}

function describeShape(revision: KubeObject | undefined): string {
  const data = (revision?.['data'] ?? {}) as JsonObject;
  const spec = (data['spec'] ?? {}) as { cpu?: { guest?: number }; memory?: { guest?: string } };
  return spec.cpu ? `${spec.cpu.guest} vCPU, ${spec.memory?.guest} memory` : 'preference';
}

async function run(): Promise<void> {
  step('Starting etcd, kube-apiserver, kube-controller-manager, an S3 store and velero server (real binaries)');
  const cp: ControlPlane = await startControlPlane({ controllerManager: true });
  let velero: Velero | undefined;
  try {
    velero = await startVelero(cp, { pluginDir: await makePluginDir() });
    out(`  API server ${cp.server}; plugin dir ${velero.pluginDir}`);
    const plugins = await velero.velero(['plugin', 'get']);
    out(plugins.stdout.split('\n').filter((l) => l.includes('kubevirt-velero-plugin') || l.startsWith('NAME')).map((l) => `  ${l}`).join('\n'));

    step(`Creating VirtualMachines in namespace ${NS}, the way KubeVirt would`);
    await createNamespace(cp.kube, NS);
    await cp.kube.create(instancetype({ name: 'u1.medium', cpu: 1, memory: '4Gi' }));
    await cp.kube.create(preference({ name: 'fedora' }));
    await cp.kube.create(instancetype({ name: 'small', namespace: NS, cpu: 2, memory: '2Gi' }));
    await cp.kube.create(preference({ name: 'legacy-os', namespace: NS }));
    const vms: Record<string, CreatedVm> = {
      'fedora-vm': await createVmLikeKubeVirt(
        cp.kube,
        virtualMachine({ name: 'fedora-vm', namespace: NS, instancetype: { name: 'u1.medium' }, preference: { name: 'fedora' } }),
      ),
      'legacy-vm': await createVmLikeKubeVirt(
        cp.kube,
        virtualMachine({
          name: 'legacy-vm',
          namespace: NS,
          instancetype: { name: 'small', kind: 'VirtualMachineInstancetype' },
          preference: { name: 'legacy-os', kind: 'VirtualMachinePreference' },
        }),
        { style: 'spec-revision-name' },
      ),
    };
    out('  fedora-vm: cluster instance type u1.medium + cluster preference fedora (KubeVirt >= 1.5: revisions named in status)');
    out('  legacy-vm: namespaced instance type small + namespaced preference legacy-os (KubeVirt <= 1.4: spec.revisionName)');
    for (const [name, created] of Object.entries(vms)) {
      out(`  ${name} revisions: ${created.instancetypeRevision?.metadata.name} (${describeShape(created.instancetypeRevision)}), ${created.preferenceRevision?.metadata.name}`);
    }

    step(`velero backup create demo-backup --include-namespaces ${NS}`);
    await velero.velero(['backup', 'create', 'demo-backup', '--include-namespaces', NS, '--snapshot-volumes=false', '--wait']);
    const backup = await velero.waitForBackup('demo-backup');
    const backupStatus = (backup['status'] ?? {}) as { phase?: string; errors?: number; warnings?: number };
    out(`  phase ${backupStatus.phase}, errors ${backupStatus.errors ?? 0}, warnings ${backupStatus.warnings ?? 0}`);
    check(backupStatus.phase === 'Completed', 'backup completed');
    const tarball = velero.readBackupTarball('demo-backup');
    const byResource = new Map<string, string[]>();
    for (const path of tarball.keys()) {
      const match = /^resources\/([^/]+)\/(?:namespaces\/([^/]+)|cluster)\/([^/]+)\.json$/.exec(path);
      if (!match || path.includes('/v1-preferredversion/')) continue;
      const list = byResource.get(match[1] ?? '') ?? [];
      list.push(match[2] ? `${match[2]}/${match[3]}` : `${match[3]} (cluster)`);
      byResource.set(match[1] ?? '', list);
    }
    out('  what the backup holds:');
    for (const [resource, items] of [...byResource].sort()) out(`    ${resource.padEnd(55)} ${items.sort().join(', ')}`);
    for (const name of Object.keys(vms)) {
      const stored = tarball.get(`resources/virtualmachines.kubevirt.io/namespaces/${NS}/${name}.json`) as KubeObject | undefined;
      const spec = specOf(stored) as { instancetype?: { revisionName?: string }; preference?: { revisionName?: string } };
      const copies = stored?.metadata.annotations?.['velero.kubevirt.io/revision-copies'];
      out(`  ${name} as stored: spec.instancetype.revisionName=${spec.instancetype?.revisionName}, spec.preference.revisionName=${spec.preference?.revisionName}`);
      out(`    point-in-time copies embedded: ${copies ? `${(JSON.parse(copies) as { revisions: unknown[] }).revisions.length} (${copies.length} bytes)` : 'none'}`);
    }

    step('Disaster: u1.medium grows to 8 vCPU, then the VMs (and with them their revisions), instance types and preferences are deleted');
    await cp.kube.mergePatch({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineClusterInstancetype', name: 'u1.medium' }, { spec: { cpu: { guest: 8 } } });
    for (const name of Object.keys(vms)) await cp.kube.delete(vmKey(name));
    for (const created of Object.values(vms)) {
      for (const rev of [created.instancetypeRevision, created.preferenceRevision]) {
        const key = revisionKey(rev?.metadata.name ?? '');
        await waitFor('revision garbage-collected', async () => ((await cp.kube.get(key)) === undefined ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
      }
    }
    await cp.kube.delete({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineInstancetype', namespace: NS, name: 'small' });
    await cp.kube.delete({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachinePreference', namespace: NS, name: 'legacy-os' });
    out('  deleted; the garbage collector removed all four revisions');

    step('velero restore create demo-restore --from-backup demo-backup');
    await velero.velero(['restore', 'create', 'demo-restore', '--from-backup', 'demo-backup', '--wait']);
    const restore = await velero.waitForRestore('demo-restore');
    const restoreStatus = (restore['status'] ?? {}) as { phase?: string; errors?: number; warnings?: number };
    out(`  phase ${restoreStatus.phase}, errors ${restoreStatus.errors ?? 0}, warnings ${restoreStatus.warnings ?? 0}`);
    check(restoreStatus.phase === 'Completed', 'restore completed');
    if (restoreStatus.phase !== 'Completed' || (restoreStatus.warnings ?? 0) > 0) {
      // Velero's own errors and warnings, as `velero restore describe` shows them.
      const details = (await velero.velero(['restore', 'describe', 'demo-restore', '--details'])).stdout.split('\n');
      const from = details.findIndex((l) => /^(Errors|Warnings):/.test(l));
      const to = details.findIndex((l, i) => i > from && l.startsWith('Backup:'));
      if (from >= 0) out(details.slice(from, to > from ? to : undefined).map((l) => `    | ${l}`).join('\n'));
    }
    const logs = (await velero.velero(['restore', 'logs', 'demo-restore'])).stdout;
    out('  what the plugin did (from `velero restore logs demo-restore`):');
    for (const line of logs.split('\n')) {
      const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
      if (msg && line.includes('restore-vm-action') && /revision/.test(msg)) out(`    ${msg.replace(/\\"/g, '"')}`);
    }

    step('Do the restored VMs match the originals?');
    for (const [name, created] of Object.entries(vms)) {
      const vm = await cp.kube.get(vmKey(name));
      check(vm !== undefined, `${NS}/${name} exists again`);
      const spec = specOf(vm) as { instancetype?: { revisionName?: string }; preference?: { revisionName?: string } };
      for (const [role, original] of [
        ['instancetype', created.instancetypeRevision],
        ['preference', created.preferenceRevision],
      ] as const) {
        const revName = original?.metadata.name ?? '';
        check(spec[role]?.revisionName === revName, `${name} references ${role} revision ${revName}`);
        const restored = await cp.kube.get(revisionKey(revName));
        check(JSON.stringify(restored?.['data']) === JSON.stringify(original?.['data']), `revision ${revName} holds the original definition (${describeShape(restored)})`);
        const owner = restored?.metadata.ownerReferences?.[0];
        check(owner?.uid === vm?.metadata.uid && owner?.controller === true, `revision ${revName} is owned by the restored VM (no orphan)`);
      }
      check(vm?.metadata.annotations?.['velero.kubevirt.io/revision-copies'] === undefined, `${name} carries no plugin annotation`);
    }
  } finally {
    await velero?.stop();
    await cp.stop();
  }
  out(failures === 0 ? '\nAll checks passed.' : `\n${failures} check(s) failed.`);
  process.exitCode = failures === 0 ? 0 : 1;
}

run().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
