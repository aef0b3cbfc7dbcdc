// Drop-in parity with KubeVirt's current plugin, through a REAL Velero v1.18 server backing up in item
// blocks with two workers:
//   - hooks: VMs selected by label only (`--selector`, as KubeVirt's own partner tests do). With the
//     plugin's ItemBlockAction the launcher pods are in their VM's block, so Velero runs the pre/post
//     virt-freezer hooks KubeVirt puts on them; the same backup with the ItemBlockAction withheld (test
//     build) runs none. No kubelet runs here, so every hook fails: the test asserts what Velero reports.
//   - networks: a VM on two Multus networks (a NAD in its namespace by bare name, one in another
//     namespace by namespace/name), backed up by selector and restored with both namespaces mapped.
import { describe, expect, it } from 'vitest';
import { useControlPlane, useVelero } from './harness/setup.ts';
import { statusOf, type Velero } from './harness/velero.ts';
import { createNamespace, createVmLikeKubeVirt, startVmLikeKubeVirt, virtualMachine, type RunningVm } from './fixtures/kubevirt.ts';
import { parseJson } from '../src/shared/json.ts';
import type { KubeObject } from '../src/velero/types.ts';

const env = useControlPlane();
const ITEM_BLOCK_WORKERS = ['--item-block-worker-count=2'];

const HOOKS_NS = 'blocks';
const VM_COUNT = 3;
const SELECTOR = 'app=blocks-demo';

/** Several running VMs (VMI + launcher pod with KubeVirt's hook annotations), labelled for --selector. */
async function runningVms(): Promise<RunningVm[]> {
  const existing = await env.cp.kube.get({ apiVersion: 'v1', kind: 'Namespace', name: HOOKS_NS });
  if (existing === undefined) await createNamespace(env.cp.kube, HOOKS_NS);
  const vms: RunningVm[] = [];
  for (let i = 1; i <= VM_COUNT; i++) {
    const name = `vm${i}`;
    const found = await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: HOOKS_NS, name });
    if (found !== undefined) throw new Error(`VM ${HOOKS_NS}/${name} exists already`);
    const created = await createVmLikeKubeVirt(
      env.cp.kube,
      virtualMachine({ name, namespace: HOOKS_NS, runStrategy: 'Always', labels: { app: 'blocks-demo' } }),
    );
    vms.push(await startVmLikeKubeVirt(env.cp.kube, created.vm, { backupHooks: true }));
  }
  return vms;
}

interface HookStatus {
  hooksAttempted?: number;
  hooksFailed?: number;
}

async function backupBySelector(velero: Velero, name: string, namespaces: string, selector: string) {
  const res = await velero.velero(['backup', 'create', name, '--include-namespaces', namespaces, '--selector', selector, '--snapshot-volumes=false', '--wait']);
  expect(res.code, res.stderr).toBe(0);
  const backup = await velero.waitForBackup(name);
  const logs = await velero.velero(['backup', 'logs', name]);
  return {
    status: statusOf(backup),
    hookStatus: (backup['status'] as { hookStatus?: HookStatus } | undefined)?.hookStatus,
    stored: [...velero.readBackupTarball(name).keys()],
    logs: logs.stdout,
  };
}

/** `<phase>: <error>` of every `velero backup logs` line (logfmt) that reports a failed hook. */
function hookErrors(logs: string): string[] {
  return logs
    .split('\n')
    .filter((l) => l.includes('msg="Error executing hook"'))
    .map((l) => `${/hookPhase=(\S+)/.exec(l)?.[1] ?? '?'}: ${/ error="([^"]*)"/.exec(l)?.[1] ?? '?'}`)
    .sort();
}

let vms: RunningVm[] = [];

describe('Velero v1.18, item blocks, with the plugin (block-vm-action listed)', () => {
  const ours = useVelero({ on: env, extraArgs: ITEM_BLOCK_WORKERS });

  it('`velero plugin get` lists every action, the block action once as ItemBlockAction', async () => {
    const res = await ours.velero.velero(['plugin', 'get']);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n').filter((l) => l.startsWith('kubevirt-velero-plugin/'));
    // eslint-disable-next-line no-console -- the listing as measured, for the README
    console.log(`velero plugin get (ours):\n${lines.join('\n')}`);
    const rows = (name: string) => lines.filter((l) => l.split(/\s+/)[0] === `kubevirt-velero-plugin/${name}`).map((l) => l.split(/\s+/)[1]);
    // A v1 action is shown twice (as itself and as its v2 adapter, both under the v1 kind); the VM
    // restore action is v2 (it needs Progress and AreAdditionalItemsReady) and shown once. So 24 lines:
    // the reference plugin's 23 (its VM restore action is v1, shown twice) less one, plus our
    // restore-controllerrevision-action (v1, shown twice), which the reference plugin does not have.
    expect(lines).toHaveLength(24);
    for (const name of ['backup-virtualmachine-action', 'backup-virtualmachineinstance-action', 'backup-datavolume-action', 'backup-pvc-action', 'backup-volumesnapshot-action']) {
      expect(rows(name), name).toEqual(['BackupItemAction', 'BackupItemAction']);
    }
    for (const name of ['restore-vmi-action', 'restore-pod-action', 'restore-pvc-action', 'restore-volumesnapshot-action', 'restore-networkattachmentdefinition-action', 'restore-controllerrevision-action']) {
      expect(rows(name), name).toEqual(['RestoreItemAction', 'RestoreItemAction']);
    }
    expect(rows('restore-vm-action')).toEqual(['RestoreItemActionV2']);
    expect(rows('block-vm-action')).toEqual(['ItemBlockAction']);
  });

  it('runs pre and post hooks of every launcher pod of VMs selected by label, and backs the pods up', async () => {
    vms = await runningVms();
    const out = await backupBySelector(ours.velero, 'blocks-with', HOOKS_NS, SELECTOR);
    for (const { launcherPod } of vms) {
      expect(out.stored).toContain(`resources/pods/namespaces/${HOOKS_NS}/${launcherPod.metadata.name ?? ''}.json`);
    }
    // KubeVirt sets no on-error annotation: Velero records each failed hook, carries on (the pod is
    // backed up and the post hook still runs) and counts the error lines against the backup.
    expect(out.hookStatus).toEqual({ hooksAttempted: 2 * VM_COUNT, hooksFailed: 2 * VM_COUNT });
    // The exec goes through the API server, which has no node to send it to.
    const noHost = (phase: string) => vms.map((v) => `${phase}: pod ${v.launcherPod.metadata.name ?? ''} does not have a host assigned`);
    expect(hookErrors(out.logs)).toEqual([...noHost('post'), ...noHost('pre')].sort());
    expect(out.status.phase).toBe('PartiallyFailed');
    expect(out.status.errors).toBe(2 * VM_COUNT);
    expect(out.logs).toContain('adding pods');
  });

  const NET_NS = 'net-apps';
  const INFRA_NS = 'net-infra';
  const LOCAL_CONFIG = '{"cniVersion":"0.3.1","name":"local-net","type":"bridge","bridge":"br-local","ipam":{}}';
  const SHARED_CONFIG =
    '{"cniVersion":"0.4.0","name":"shared-vlan","type":"ovn-k8s-cni-overlay","topology":"layer2","mtu":1400,"netAttachDefName":"net-infra/shared-vlan"}';
  const nadKey = (namespace: string, name: string) => ({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', namespace, name });
  const nad = (namespace: string, name: string, config: string): KubeObject => ({
    ...nadKey(namespace, name),
    metadata: { name, namespace, annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'bridge.network.kubevirt.io/br-local' } },
    spec: { config },
  });

  it('backs up a VM on two Multus networks with both NADs and restores them into the mapped namespaces', async () => {
    const kube = env.cp.kube;
    await createNamespace(kube, NET_NS);
    await createNamespace(kube, INFRA_NS);
    await kube.create(nad(NET_NS, 'local-net', LOCAL_CONFIG));
    await kube.create(nad(INFRA_NS, 'shared-vlan', SHARED_CONFIG));
    await createVmLikeKubeVirt(
      kube,
      virtualMachine({
        name: 'multi',
        namespace: NET_NS,
        labels: { app: 'net-demo' },
        templateSpec: {
          domain: { devices: { disks: [{ name: 'rootdisk', disk: { bus: 'virtio' } }], interfaces: [{ name: 'default', masquerade: {} }, { name: 'local', bridge: {} }, { name: 'shared', bridge: {} }] } },
          networks: [
            { name: 'default', pod: {} },
            { name: 'local', multus: { networkName: 'local-net' } },
            { name: 'shared', multus: { networkName: `${INFRA_NS}/shared-vlan` } },
          ],
        },
      }),
    );
    const out = await backupBySelector(ours.velero, 'net-b1', `${NET_NS},${INFRA_NS}`, 'app=net-demo');
    expect(out.status.phase, out.logs.slice(-3000)).toBe('Completed');
    expect(out.stored).toEqual(
      expect.arrayContaining([
        `resources/network-attachment-definitions.k8s.cni.cncf.io/namespaces/${NET_NS}/local-net.json`,
        `resources/network-attachment-definitions.k8s.cni.cncf.io/namespaces/${INFRA_NS}/shared-vlan.json`,
        `resources/virtualmachines.kubevirt.io/namespaces/${NET_NS}/multi.json`,
      ]),
    );

    const mappings = `${NET_NS}:${NET_NS}-r,${INFRA_NS}:${INFRA_NS}-r`;
    const res = await ours.velero.velero(['restore', 'create', 'net-r1', '--from-backup', 'net-b1', '--namespace-mappings', mappings, '--wait']);
    expect(res.code, res.stderr).toBe(0);
    const restore = await ours.velero.waitForRestore('net-r1');
    expect(statusOf(restore).phase, (await ours.velero.velero(['restore', 'logs', 'net-r1'])).stdout.slice(-3000)).toBe('Completed');

    const local = await kube.get(nadKey(`${NET_NS}-r`, 'local-net'));
    const shared = await kube.get(nadKey(`${INFRA_NS}-r`, 'shared-vlan'));
    expect((local?.['spec'] as { config: string }).config).toBe(LOCAL_CONFIG);
    const sharedConfig = (shared?.['spec'] as { config: string }).config;
    expect(parseJson(sharedConfig)).toEqual({ ...(parseJson(SHARED_CONFIG) as object), netAttachDefName: `${INFRA_NS}-r/shared-vlan` });
    expect(sharedConfig).toBe(SHARED_CONFIG.replace(`"${INFRA_NS}/shared-vlan"`, `"${INFRA_NS}-r/shared-vlan"`));
    for (const n of [local, shared]) expect(n?.metadata.annotations?.['k8s.v1.cni.cncf.io/resourceName']).toBe('bridge.network.kubevirt.io/br-local');

    const vm = await kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: `${NET_NS}-r`, name: 'multi' });
    expect((vm?.['spec'] as { template: { spec: { networks: unknown[] } } }).template.spec.networks).toEqual([
      { name: 'default', pod: {} },
      { name: 'local', multus: { networkName: 'local-net' } },
      { name: 'shared', multus: { networkName: `${INFRA_NS}-r/shared-vlan` } },
    ]);
  });
});

describe('Velero v1.18, item blocks, the same plugin with its ItemBlockAction withheld (test build)', () => {
  const withheld = useVelero({
    on: env,
    extraArgs: ITEM_BLOCK_WORKERS,
    build: 'test-hooks',
    env: { KVP_TEST_WITHHOLD_KINDS: 'ItemBlockAction' },
  });

  it('runs no hook at all: the launcher pods reach the backup only as additional items, in no block', async () => {
    expect(vms.length, 'the VMs of the first backup').toBe(VM_COUNT);
    const plugins = await withheld.velero.velero(['plugin', 'get']);
    expect(plugins.stdout).not.toContain('block-vm-action');
    const out = await backupBySelector(withheld.velero, 'blocks-without', HOOKS_NS, SELECTOR);
    for (const { launcherPod } of vms) {
      expect(out.stored).toContain(`resources/pods/namespaces/${HOOKS_NS}/${launcherPod.metadata.name ?? ''}.json`);
    }
    expect(out.hookStatus?.hooksAttempted ?? 0).toBe(0);
    expect(hookErrors(out.logs)).toEqual([]);
    expect(out.status.phase).toBe('Completed');
  });
});
