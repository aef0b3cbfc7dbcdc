// A restore into a cluster whose KubeVirt runs `referencePolicy: expandAll` (KubeVirt CR
// spec.configuration.instancetype.referencePolicy), judged by the real virt-api and virt-controller
// (every KubeVirt line of e2e/kubevirt-versions.json, or KVP_E2E_KUBEVIRT) through a real Velero v1.18. Under expandAll virt-controller rewrites every VM that
// references an instance type or preference into a plain VM with the resolved CPU, memory and devices
// in its template, then deletes the revisions named in the VM's status refs. A restored VM has no status
// (Velero drops it), so KubeVirt deletes nothing: what happens to the revisions the restore brought back
// is up to us, and asserted below.
//
// The VM is backed up while the cluster still runs the default policy (reference), then the policy is
// switched: the same cluster stands for the "target cluster" of a migration.
import { describe, expect, it } from 'vitest';
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import { kubevirtLines } from './harness/kubevirt.ts';
import { createRunningVmWithTypes, revisionType, shapeOf, statusRefs, vmiOf as vmiOfVm, vmiKey, vmKey } from './harness/kubevirt-vms.ts';
import { waitFor } from './harness/process.ts';
import { useVelero } from './harness/setup.ts';
import { statusOf } from './harness/velero.ts';
import { INSTANCETYPE_API_VERSION, virtualMachine } from './fixtures/kubevirt.ts';

const NS = 'expand-all';
const itKey = { apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineClusterInstancetype', name: 'expand-all-it' };
const kubevirtCrKey = { apiVersion: 'kubevirt.io/v1', kind: 'KubeVirt', namespace: 'kubevirt', name: 'kubevirt' };

describe.each(kubevirtLines(process.env['KVP_E2E_KUBEVIRT']))('KubeVirt %s with referencePolicy expandAll: a restored VM is expanded by KubeVirt and runs with its original shape', (line) => {
  const env = useVelero({ controlPlane: { controllerManager: true, kubevirt: line } });
  const kube = () => env.cp.kube;
  let original: { uid: string; revisions: string[]; shape: { cpu: unknown; memory: unknown } };

  const vmiOf = (ns: string, name: string, vmUid: string): Promise<KubeObject> => vmiOfVm(kube(), ns, name, vmUid);

  async function velero(args: string[]): Promise<void> {
    const res = await env.velero.velero(args);
    expect(res.code, `velero ${args.join(' ')}: ${res.stdout}\n${res.stderr}`).toBe(0);
  }

  it('reference policy: a labelled running VM gets its revisions and VMI; backed up by label; the instance type then grows', async () => {
    const vm = await createRunningVmWithTypes(kube(), { namespace: NS, instancetype: itKey.name, labels: { 'kvp-e2e/expand-all': 'yes' } });
    const uid = vm.metadata.uid ?? '';
    const refs = await statusRefs(kube(), NS, 'vm1', 'the original VM');
    const revisions = [refs.instancetype, refs.preference];
    original = { uid, revisions, shape: shapeOf(await vmiOf(NS, 'vm1', uid)) };
    expect(original.shape).toMatchObject({ cpu: { sockets: 1 }, memory: { guest: '256Mi' } });

    await velero(['backup', 'create', 'expand-all-b', '--selector', 'kvp-e2e/expand-all=yes', '--snapshot-volumes=false', '--wait']);
    // The running VM's launcher pod may come along (as the VMI's additional item); its freeze hooks
    // cannot run without a node. Those errors, and only those, are accepted.
    const phase = statusOf(await env.velero.waitForBackup('expand-all-b')).phase;
    const errors = (await env.velero.velero(['backup', 'logs', 'expand-all-b'])).stdout.split('\n').filter((l) => l.includes('level=error'));
    expect(errors.filter((l) => !/virt-launcher-vm1-\w+ does not have a host assigned/.test(l))).toEqual([]);
    expect(phase).toBe(errors.length === 0 ? 'Completed' : 'PartiallyFailed');
    // +1 CPU, +128Mi: an expansion from the live instance type (not the restored revision) would show it.
    await kube().mergePatch(itKey, { spec: { cpu: { guest: 2 }, memory: { guest: '384Mi' } } });
    await kube().delete(vmKey(NS, 'vm1'));
    await waitFor('VM, VMI and revisions gone', async () => {
      const left = (await kube().get(vmKey(NS, 'vm1'))) ?? (await kube().get(vmiKey(NS, 'vm1')));
      return left === undefined && (await kube().list(revisionType(NS))).length === 0 ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 });
  });

  it('the cluster switches to expandAll (a KubeVirt CR, as virt-operator would leave it)', async () => {
    await kube().create({
      apiVersion: kubevirtCrKey.apiVersion,
      kind: kubevirtCrKey.kind,
      metadata: { name: kubevirtCrKey.name, namespace: kubevirtCrKey.namespace },
      spec: {
        configuration: {
          instancetype: { referencePolicy: 'expandAll' },
          // KubeVirt 1.5 honours referencePolicy only behind this feature gate (virt-config.go
          // GetInstancetypeReferencePolicy); from 1.6 on it is read without a gate.
          ...(line === '1.5' ? { developerConfiguration: { featureGates: ['InstancetypeReferencePolicy'] } } : {}),
        },
      },
    });
    // virt-api and virt-controller take their configuration only from a CR with a phase; without
    // defaultArchitecture every VMI create is denied.
    await kube().patchStatus(kubevirtCrKey, { phase: 'Deployed', defaultArchitecture: 'amd64' });
    // Picked up when a fresh VM with an instance type gets expanded (both processes watch the CR).
    const canary = { ...vmKey(NS, 'canary') };
    await kube().create(virtualMachine({ name: 'canary', namespace: NS, runStrategy: 'Halted', instancetype: { name: itKey.name } }));
    await waitFor('canary VM expanded by virt-controller', async () => {
      const vm = await kube().get(canary);
      return vm !== undefined && (vm['spec'] as JsonObject)['instancetype'] === undefined ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await kube().delete(canary);
    await waitFor('canary VM deleted', async () => ((await kube().get(canary)) === undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  });

  it('restored: completed, expanded by KubeVirt from the ORIGINAL revisions, the VMI has the original shape, its revisions owned by the VM', async () => {
    await velero(['restore', 'create', 'expand-all-r', '--from-backup', 'expand-all-b', '--wait']);
    const restore = await env.velero.waitForRestore('expand-all-r');
    const describeText = (await env.velero.velero(['restore', 'describe', 'expand-all-r', '--details'])).stdout;
    expect(statusOf(restore), describeText).toMatchObject({ phase: 'Completed' });
    expect(statusOf(restore).errors ?? 0, describeText).toBe(0);

    const vm = await waitFor('restored VM expanded by virt-controller', async () => {
      const current = await kube().get(vmKey(NS, 'vm1'));
      const spec = (current?.['spec'] ?? {}) as JsonObject;
      return current !== undefined && spec['instancetype'] === undefined && spec['preference'] === undefined ? current : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const uid = vm.metadata.uid ?? '';
    expect(uid).not.toBe(original.uid);
    // The expansion came from the restored revisions: the template holds the original CPU and memory.
    const template = ((vm['spec'] as JsonObject)['template'] as { spec?: { domain?: JsonObject } }).spec?.domain ?? {};
    // (virt-controller adds its defaults, maxSockets and the CPU model, to the VMI only.)
    expect(original.shape).toMatchObject({ cpu: template['cpu'], memory: template['memory'] });
    expect(template['memory']).toEqual({ guest: '256Mi' });
    expect(shapeOf(await vmiOf(NS, 'vm1', uid))).toEqual(original.shape);

    // Decision: an expanded VM's restored revisions go with the VM (owned by it, collected when it is
    // deleted). KubeVirt deletes only the revisions named in a VM's status, and a restored VM has none:
    // left alone, they would be orphans (measured before the plugin carried their names in its
    // operation ID: both stayed without owner).
    for (const name of original.revisions) {
      const rev = await waitFor(`revision ${name} owned by the restored, expanded VM`, async () => {
        const r = await kube().get({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: NS, name });
        return r?.metadata.ownerReferences?.some((o) => o.uid === uid && o.controller === true) === true ? r : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      expect(rev.metadata.ownerReferences?.map((o) => o.uid)).toEqual([uid]);
    }
    // No orphan: every revision in the namespace (virt-controller's start revision included) is the VM's.
    for (const r of await kube().list(revisionType(NS))) expect(r.metadata.ownerReferences?.map((o) => o.uid), r.metadata.name).toEqual([uid]);
    const logs = (await env.velero.velero(['restore', 'logs', 'expand-all-r'])).stdout.replace(/\\"/g, '"');
    expect(logs).toContain(`revision ${original.revisions[0]}: VirtualMachine ${NS}/vm1 no longer references it (expanded by KubeVirt)`);
  });
});
