// `npm run demo`: the plugin doing its job, end to end, on real components. It brings up a real
// control plane (etcd, kube-apiserver, kube-controller-manager), KubeVirt's real virt-api and
// virt-controller (KubeVirt 1.6, e2e/harness/kubevirt.ts) and a real Velero server with this plugin
// installed by its own install mode, creates running VirtualMachines that use instance types and
// preferences (cluster-wide and namespaced), backs them up with `velero backup create`, changes and
// deletes everything, restores with `velero restore create`, and shows what was captured, what the plugin
// did for each VM, and that KubeVirt runs the restored VMs with their original shape: the VMI that the real
// virt-controller creates after the restore has the original CPU and memory.
// No node runs here: a VM gets its VMI and a virt-launcher pod that stays Pending.
import { isDeepStrictEqual } from 'node:util';
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import { createNamespace, INSTANCETYPE_API_VERSION, instancetype, MatcherKinds, preference, virtualMachine } from './fixtures/kubevirt.ts';
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
const vmiKey = (name: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', namespace: NS, name });
/** Only the VMs are labelled: the backup takes them, and the plugin adds their revisions, types and preferences. */
const DEMO_LABEL = 'kvp-demo/vm';

interface CreatedVm {
  vm: KubeObject;
  instancetypeRevision: KubeObject | undefined;
  preferenceRevision: KubeObject | undefined;
  /** The CPU and memory of the VMI that virt-controller created from the instance type and preference. */
  shape: string;
}

function specOf(obj: KubeObject | undefined): JsonObject {
  return ((obj?.['spec'] ?? {}) as JsonObject) ?? {};
}

function describeShape(revision: KubeObject | undefined): string {
  const data = (revision?.['data'] ?? {}) as JsonObject;
  const spec = (data['spec'] ?? {}) as { cpu?: { guest?: number }; memory?: { guest?: string } };
  return spec.cpu ? `${spec.cpu.guest} vCPU, ${spec.memory?.guest} memory` : 'preference';
}

/** The VMI's CPU and memory, as virt-controller applied the instance type and preference. */
function vmiShape(vmi: KubeObject): string {
  const domain = ((vmi['spec'] as JsonObject | undefined)?.['domain'] ?? {}) as JsonObject;
  return JSON.stringify({ cpu: domain['cpu'], memory: domain['memory'] });
}

/** The VMI that virt-controller created for the VM with this UID. */
async function vmiOf(cp: ControlPlane, name: string, vmUid: string): Promise<KubeObject> {
  return waitFor(`VMI of ${NS}/${name} from virt-controller`, async () => {
    const vmi = await cp.kube.get(vmiKey(name));
    return vmi?.metadata.ownerReferences?.some((r) => r.uid === vmUid) === true ? vmi : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
}

/** The revision names virt-controller recorded in the VM's status. */
async function statusRevisions(cp: ControlPlane, name: string): Promise<{ instancetype: string; preference: string }> {
  return waitFor(`status refs of ${NS}/${name} from virt-controller`, async () => {
    const status = ((await cp.kube.get(vmKey(name)))?.['status'] ?? {}) as Record<string, { controllerRevisionRef?: { name?: string } } | undefined>;
    const it = status['instancetypeRef']?.controllerRevisionRef?.name;
    const pref = status['preferenceRef']?.controllerRevisionRef?.name;
    return it === undefined || pref === undefined ? undefined : { instancetype: it, preference: pref };
  }, { timeoutMs: 60_000, intervalMs: 500 });
}

/** Creates a running VM through virt-api and waits for what virt-controller does: revisions and a VMI. */
async function createRunningVm(cp: ControlPlane, manifest: KubeObject): Promise<CreatedVm> {
  const vm = await cp.kube.create(manifest);
  const name = vm.metadata.name ?? '';
  const names = await statusRevisions(cp, name);
  return {
    vm,
    instancetypeRevision: await cp.kube.get(revisionKey(names.instancetype)),
    preferenceRevision: await cp.kube.get(revisionKey(names.preference)),
    shape: vmiShape(await vmiOf(cp, name, vm.metadata.uid ?? '')),
  };
}

async function run(): Promise<void> {
  step('Starting etcd, kube-apiserver, kube-controller-manager, KubeVirt 1.6 virt-api + virt-controller, an S3 store and velero server (real binaries)');
  const cp: ControlPlane = await startControlPlane({ controllerManager: true, kubevirt: '1.6' });
  let velero: Velero | undefined;
  try {
    velero = await startVelero(cp, { pluginDir: await makePluginDir() });
    out(`  API server ${cp.server}; plugin dir ${velero.pluginDir}`);
    const plugins = await velero.velero(['plugin', 'get']);
    out(plugins.stdout.split('\n').filter((l) => l.includes('kubevirt-velero-plugin') || l.startsWith('NAME')).map((l) => `  ${l}`).join('\n'));

    step(`Creating running VirtualMachines in namespace ${NS} through KubeVirt's virt-api`);
    await createNamespace(cp.kube, NS);
    await cp.kube.create(instancetype({ name: 'u1.medium', cpu: 1, memory: '4Gi' }));
    await cp.kube.create(preference({ name: 'fedora' }));
    await cp.kube.create(instancetype({ name: 'small', namespace: NS, cpu: 2, memory: '2Gi' }));
    await cp.kube.create(preference({ name: 'legacy-os', namespace: NS }));
    const labels = (name: string) => ({ [DEMO_LABEL]: name });
    const vms: Record<string, CreatedVm> = {
      'fedora-vm': await createRunningVm(
        cp,
        virtualMachine({ name: 'fedora-vm', namespace: NS, runStrategy: 'Always', labels: labels('fedora-vm'), instancetype: { name: 'u1.medium' }, preference: { name: 'fedora' } }),
      ),
      'legacy-vm': await createRunningVm(
        cp,
        virtualMachine({
          name: 'legacy-vm',
          namespace: NS,
          runStrategy: 'Always',
          labels: labels('legacy-vm'),
          instancetype: { name: 'small', kind: MatcherKinds.instancetype },
          preference: { name: 'legacy-os', kind: MatcherKinds.preference },
        }),
      ),
    };
    out('  fedora-vm: cluster instance type u1.medium + cluster preference fedora');
    out('  legacy-vm: namespaced instance type small + namespaced preference legacy-os');
    for (const [name, created] of Object.entries(vms)) {
      out(`  ${name} revisions (recorded by virt-controller): ${created.instancetypeRevision?.metadata.name} (${describeShape(created.instancetypeRevision)}), ${created.preferenceRevision?.metadata.name}`);
      out(`    its VMI from virt-controller: ${created.shape}`);
    }

    // By label, as KubeVirt's own backup tests do. The virt-launcher pods come along (the VMIs'
    // additional items) and Velero runs KubeVirt's freeze hooks in them, which fails without a node.
    step(`velero backup create demo-backup --selector ${DEMO_LABEL}`);
    await velero.velero(['backup', 'create', 'demo-backup', '--selector', DEMO_LABEL, '--snapshot-volumes=false', '--wait']);
    const backup = await velero.waitForBackup('demo-backup');
    const backupStatus = (backup['status'] ?? {}) as { phase?: string; errors?: number; warnings?: number };
    out(`  phase ${backupStatus.phase}, errors ${backupStatus.errors ?? 0}, warnings ${backupStatus.warnings ?? 0}`);
    const backupErrors = (await velero.velero(['backup', 'logs', 'demo-backup'])).stdout.split('\n').filter((l) => l.includes('level=error'));
    const hookErrors = backupErrors.filter((l) => /virt-launcher-[\w-]+ does not have a host assigned/.test(l));
    if (hookErrors.length > 0) out(`  ${hookErrors.length} error(s): the launcher pods' freeze hooks cannot run, no node runs the pods here`);
    check(
      backupErrors.length === hookErrors.length && backupStatus.phase === (backupErrors.length === 0 ? 'Completed' : 'PartiallyFailed'),
      'backup completed (apart from the launcher pods\' freeze hooks)',
    );
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
    for (const name of Object.keys(vms)) {
      // virt-controller stops the VMI and removes its finalizer from the VM.
      for (const key of [vmKey(name), vmiKey(name)]) {
        await waitFor(`${key.kind} ${name} deleted`, async () => ((await cp.kube.get(key)) === undefined ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
      }
    }
    for (const created of Object.values(vms)) {
      for (const rev of [created.instancetypeRevision, created.preferenceRevision]) {
        const key = revisionKey(rev?.metadata.name ?? '');
        await waitFor('revision garbage-collected', async () => ((await cp.kube.get(key)) === undefined ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
      }
    }
    await cp.kube.delete({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineInstancetype', namespace: NS, name: 'small' });
    await cp.kube.delete({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachinePreference', namespace: NS, name: 'legacy-os' });
    out('  deleted; virt-controller stopped the VMIs and the garbage collector removed all four revisions');

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
        // (Compared as values: Velero writes the restored object's JSON with sorted keys.)
        check(isDeepStrictEqual(restored?.['data'], original?.['data']), `revision ${revName} holds the original definition (${describeShape(restored)})`);
        const owner = restored?.metadata.ownerReferences?.[0];
        check(owner?.uid === vm?.metadata.uid && owner?.controller === true, `revision ${revName} is owned by the restored VM (no orphan)`);
      }
      check(vm?.metadata.annotations?.['velero.kubevirt.io/revision-copies'] === undefined, `${name} carries no plugin annotation`);
      // KubeVirt's judgement: virt-controller accepts the pinned revisions and starts the VM from them.
      const refs = await statusRevisions(cp, name);
      check(
        refs.instancetype === created.instancetypeRevision?.metadata.name && refs.preference === created.preferenceRevision?.metadata.name,
        `virt-controller records the original revisions in ${name}'s status`,
      );
      const shape = vmiShape(await vmiOf(cp, name, vm?.metadata.uid ?? ''));
      out(`    ${name}'s new VMI from virt-controller: ${shape}`);
      check(shape === created.shape, `${name} runs with its original CPU and memory (not the changed instance type's)`);
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
