// Reading what the REAL KubeVirt controllers (harness/kubevirt.ts) did with a VM, and making the running
// VM with an instance type and a preference that the real-KubeVirt tests start from. Shared by
// e2e/kubevirt-restore.test.ts and e2e/kubevirt-expand-all.test.ts.
import type { JsonObject, KubeObject } from '../../src/velero/types.ts';
import { createNamespace, instancetype, MatcherKinds, preference, virtualMachine } from '../fixtures/kubevirt.ts';
import type { KubeClient } from './kube.ts';
import { waitFor } from './process.ts';

export const vmKey = (namespace: string, name: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace, name });
export const vmiKey = (namespace: string, name: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', namespace, name });
export const revisionType = (namespace: string) => ({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace });

export interface StatusRefs {
  instancetype: string;
  preference: string;
}

/** What virt-controller applied from the instance type and preference: the VMI's CPU and memory. */
export function shapeOf(vmi: KubeObject): { cpu: unknown; memory: unknown } {
  const domain = ((vmi['spec'] as JsonObject | undefined)?.['domain'] ?? {}) as JsonObject;
  return { cpu: domain['cpu'], memory: domain['memory'] };
}

/** The revision names virt-controller wrote into the VM's status (KubeVirt >= 1.5). */
export async function statusRefs(kube: KubeClient, ns: string, name: string, what: string): Promise<StatusRefs> {
  return waitFor(`${what}: status refs of VM ${ns}/${name} from virt-controller`, async () => {
    const status = ((await kube.get(vmKey(ns, name)))?.['status'] ?? {}) as {
      instancetypeRef?: { controllerRevisionRef?: { name?: string } };
      preferenceRef?: { controllerRevisionRef?: { name?: string } };
    };
    const it = status.instancetypeRef?.controllerRevisionRef?.name;
    const pref = status.preferenceRef?.controllerRevisionRef?.name;
    return it === undefined || pref === undefined ? undefined : { instancetype: it, preference: pref };
  }, { timeoutMs: 60_000, intervalMs: 500 });
}

/** The VMI virt-controller created for the VM with this UID (runStrategy Always). */
export async function vmiOf(kube: KubeClient, ns: string, name: string, vmUid: string): Promise<KubeObject> {
  return waitFor(`VMI of VM ${ns}/${name} (${vmUid}) from virt-controller`, async () => {
    const vmi = await kube.get(vmiKey(ns, name));
    return vmi?.metadata.ownerReferences?.some((r) => r.uid === vmUid) === true ? vmi : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
}

/**
 * A new namespace holding preference `pref`, a cluster instance type of 1 CPU and 256Mi, and VM `vm1`
 * (runStrategy Always) using both; returns the VM as created.
 */
export async function createRunningVmWithTypes(
  kube: KubeClient,
  opts: { namespace: string; instancetype: string; labels?: Record<string, string> },
): Promise<KubeObject> {
  await createNamespace(kube, opts.namespace);
  await kube.create(instancetype({ name: opts.instancetype, cpu: 1, memory: '256Mi' }));
  await kube.create(preference({ name: 'pref', namespace: opts.namespace }));
  return kube.create(
    virtualMachine({
      name: 'vm1',
      namespace: opts.namespace,
      runStrategy: 'Always',
      ...(opts.labels === undefined ? {} : { labels: opts.labels }),
      instancetype: { name: opts.instancetype },
      preference: { name: 'pref', kind: MatcherKinds.preference },
    }),
  );
}
