// Scenario 7 of issue 5, through a REAL Velero server loading the built plugin: a running VM whose
// virt-launcher pod is left out of the backup. The launcher pod carries the guest's freeze/thaw hooks,
// so without it the VM's disks are not captured consistently: the backup must end PartiallyFailed, and
// what the user reads (`velero backup describe --details`, `velero backup logs`) must name the VM and say why.
import { describe, expect, it } from 'vitest';
import { useVelero } from './harness/setup.ts';
import { statusOf } from './harness/velero.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, startVmLikeKubeVirt, virtualMachine, type RunningVm } from './fixtures/kubevirt.ts';

const env = useVelero();

/** A namespace with one running VM (VMI + launcher pod) using a cluster instance type. */
async function runningVm(ns: string): Promise<RunningVm> {
  await createNamespace(env.cp.kube, ns);
  await env.cp.kube.create(instancetype({ name: `${ns}-it`, cpu: 2, memory: '2Gi' }));
  const created = await createVmLikeKubeVirt(env.cp.kube, virtualMachine({ name: 'vm1', namespace: ns, runStrategy: 'Always', instancetype: { name: `${ns}-it` } }));
  return startVmLikeKubeVirt(env.cp.kube, created.vm);
}

interface BackupOutcome {
  status: ReturnType<typeof statusOf>;
  describe: string;
  logs: string;
  stored: string[];
}

async function backup(name: string, args: string[]): Promise<BackupOutcome> {
  const res = await env.velero.velero(['backup', 'create', name, '--snapshot-volumes=false', '--wait', ...args]);
  expect(res.code, res.stderr).toBe(0);
  const status = statusOf(await env.velero.waitForBackup(name));
  const describe = await env.velero.velero(['backup', 'describe', name, '--details']);
  expect(describe.code, describe.stderr).toBe(0);
  const logs = await env.velero.velero(['backup', 'logs', name]);
  expect(logs.code, logs.stderr).toBe(0);
  return { status, describe: describe.stdout, logs: logs.stdout, stored: [...env.velero.readBackupTarball(name).keys()] };
}

/** The lines of the "Errors:" section of `velero backup describe --details`. */
function errorsSection(describe: string): string {
  return /\nErrors:\n([\s\S]*?)(?:\n\S|$)/.exec(describe)?.[1] ?? '';
}

describe('a running VM whose launcher pod is excluded from the backup', () => {
  it('launcher pod labelled velero.io/exclude-from-backup=true: PartiallyFailed, the error names the VM and the labelled pod', async () => {
    const ns = 'ble-label';
    const running = await runningVm(ns);
    const pod = running.launcherPod.metadata.name ?? '';
    await env.cp.kube.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: pod }, { metadata: { labels: { 'velero.io/exclude-from-backup': 'true' } } });

    const { status, describe, logs, stored } = await backup('ble-label-b', ['--include-namespaces', ns]);
    expect(status.phase, describe).toBe('PartiallyFailed');
    expect(status.errors ?? 0).toBeGreaterThanOrEqual(1);
    const reason = `VM is running but launcher pod is not included in the backup: VMI ${ns}/vm1: launcher pod ${pod} is labelled velero.io/exclude-from-backup=true`;
    // Velero's own error line for the VMI item, with our message after the rpc status.
    expect(logs).toContain(
      `error executing custom action (groupResource=virtualmachineinstances.kubevirt.io, namespace=${ns}, name=vm1): rpc error: code = Unknown desc = ${reason}`,
    );
    expect(errorsSection(describe)).toContain(reason);
    // Neither the launcher pod (excluded) nor the VMI (its action failed) is in the bucket.
    expect(stored.filter((k) => k.startsWith('resources/pods/'))).toEqual([]);
    expect(stored.filter((k) => k.startsWith('resources/virtualmachineinstances.kubevirt.io/'))).toEqual([]);
  });

  it('--exclude-resources pods: PartiallyFailed, the VM is refused because its disks would be taken without the freeze hooks', async () => {
    const ns = 'ble-res';
    await runningVm(ns);
    const { status, describe, logs, stored } = await backup('ble-res-b', ['--include-namespaces', ns, '--exclude-resources', 'pods']);
    expect(status.phase, describe).toBe('PartiallyFailed');
    expect(status.errors ?? 0).toBeGreaterThanOrEqual(2);
    const vmReason =
      `VM cannot be safely backed up: VM ${ns}/vm1 is running and the backup contains PVCs but not pods ` +
      '(the launcher pod carries the guest freeze/thaw hooks that make its disks consistent)';
    const vmiReason = `VM is running but launcher pod is not included in the backup: VMI ${ns}/vm1: pods are not included but PVCs are`;
    expect(logs).toContain(
      `error executing custom action (groupResource=virtualmachines.kubevirt.io, namespace=${ns}, name=vm1): rpc error: code = Unknown desc = ${vmReason}`,
    );
    expect(logs).toContain(
      `error executing custom action (groupResource=virtualmachineinstances.kubevirt.io, namespace=${ns}, name=vm1): rpc error: code = Unknown desc = ${vmiReason}`,
    );
    const errors = errorsSection(describe);
    expect(errors).toContain(vmReason);
    expect(errors).toContain(vmiReason);
    // The refused VM and VMI are not in the bucket (so no restore brings back a half-captured VM).
    expect(stored.filter((k) => k.startsWith('resources/virtualmachines.kubevirt.io/'))).toEqual([]);
    expect(stored.filter((k) => k.startsWith('resources/virtualmachineinstances.kubevirt.io/'))).toEqual([]);
  });

  it('control: the same running VM with its launcher pod included backs up Completed with VM, VMI and pod', async () => {
    const ns = 'ble-ok';
    const running = await runningVm(ns);
    const { status, describe, stored } = await backup('ble-ok-b', ['--include-namespaces', ns]);
    expect(status.phase, describe).toBe('Completed');
    expect(status.errors ?? 0).toBe(0);
    expect(stored).toContain(`resources/virtualmachines.kubevirt.io/namespaces/${ns}/vm1.json`);
    expect(stored).toContain(`resources/virtualmachineinstances.kubevirt.io/namespaces/${ns}/vm1.json`);
    expect(stored).toContain(`resources/pods/namespaces/${ns}/${running.launcherPod.metadata.name ?? ''}.json`);
  });
});
