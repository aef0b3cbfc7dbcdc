// The imitation held against the real thing: e2e/fixtures/kubevirt.ts writes what KubeVirt writes, for
// the e2e files that run without KubeVirt. Here KubeVirt's real virt-api and virt-controller handle a
// running VM, and every object the fixtures would have written for the same VM is compared, field by
// field, with what KubeVirt wrote — the fields the plugin reads or writes: revision names, labels, owner
// references and data, the VM's status refs and firmware UUID, the start revision, the VMI's owner and
// start-revision name, the launcher pod's labels, domain annotation and Velero hook annotations.
// If this fails, fix the fixtures (and only them), so no test keeps trusting a drifted imitation.
import { describe, expect, it } from 'vitest';
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import { kubevirtLines, type KubevirtLine } from './harness/kubevirt.ts';
import { waitFor } from './harness/process.ts';
import { useControlPlane } from './harness/setup.ts';
import {
  admittedLikeKubeVirt,
  controllerRevisionFor,
  createNamespace,
  INSTANCETYPE_API_VERSION,
  instancetype,
  launcherPodFor,
  MatcherKinds,
  matcherTargetKind,
  preference,
  startRevisionFor,
  statusRefFor,
  virtualMachine,
  vmiFor,
  type MatcherSpec,
} from './fixtures/kubevirt.ts';

const LINES: KubevirtLine[] = kubevirtLines(process.env['KVP_E2E_KUBEVIRT']);

/** The parts of a ControllerRevision the plugin reads or writes. */
function revisionFields(r: KubeObject | undefined): JsonObject {
  return {
    name: r?.metadata.name ?? null,
    namespace: r?.metadata.namespace ?? null,
    labels: r?.metadata.labels ?? null,
    ownerReferences: (r?.metadata.ownerReferences ?? null) as JsonObject[] | null,
    data: r?.['data'] ?? null,
    revision: r?.['revision'] ?? null,
  } as JsonObject;
}

function firmwareUuidOf(vm: KubeObject): unknown {
  return (vm['spec'] as { template?: { spec?: { domain?: { firmware?: { uuid?: unknown } } } } }).template?.spec?.domain?.firmware?.uuid;
}

describe.each(LINES)('KubeVirt %s: the fixtures write what the real controller writes', (line) => {
  const env = useControlPlane({ kubevirt: line });
  const ns = `fx-${line.replace('.', '')}`;

  it('instance type / preference revisions, status refs, firmware UUID, start revision, VMI and launcher pod', async () => {
    const kube = env.cp.kube;
    await createNamespace(kube, ns);
    await kube.create(instancetype({ name: 'fx.small', cpu: 2, memory: '512Mi' }));
    await kube.create(preference({ name: 'fx-pref', namespace: ns }));
    const manifest = virtualMachine({
      name: 'vm1',
      namespace: ns,
      runStrategy: 'Always',
      instancetype: { name: 'fx.small' },
      preference: { name: 'fx-pref', kind: MatcherKinds.preference },
    });
    const created = await kube.create(manifest);
    // virt-api's mutating webhook (>= 1.6): a random firmware UUID on create; the fixtures give one too.
    // 1.5's webhook leaves it empty (virt-controller derives the VMI's from the VM name instead).
    if (line === '1.5') expect(firmwareUuidOf(created)).toBeUndefined();
    else expect(firmwareUuidOf(created)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(firmwareUuidOf(admittedLikeKubeVirt(manifest))).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // The matcher kinds as the fixtures default them are what the webhook leaves.
    expect(created['spec']).toMatchObject({ instancetype: (manifest['spec'] as JsonObject)['instancetype'], preference: (manifest['spec'] as JsonObject)['preference'] });

    const vmKey = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: 'vm1' };
    const vm = await waitFor('status refs from virt-controller', async () => {
      const v = await kube.get(vmKey);
      const status = (v?.['status'] ?? {}) as { instancetypeRef?: unknown; preferenceRef?: unknown };
      return status.instancetypeRef !== undefined && status.preferenceRef !== undefined ? v : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    // Not imitated (see the fixtures' header): the finalizer and the observed-API-version annotations.
    expect(vm?.metadata.finalizers).toContain('kubevirt.io/virtualMachineControllerFinalize');

    for (const matcher of ['instancetype', 'preference'] as const) {
      const m = (vm['spec'] as Record<string, MatcherSpec>)[matcher] as MatcherSpec;
      const kind = matcherTargetKind(matcher, m.kind ?? '');
      const cluster = kind.includes('Cluster');
      const target = await kube.get({ apiVersion: INSTANCETYPE_API_VERSION, kind, name: m.name, ...(cluster ? {} : { namespace: ns }) });
      const imitated = controllerRevisionFor(vm, target as KubeObject);
      const real = await kube.get({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: ns, name: imitated.metadata.name ?? '' });
      expect(real, `KubeVirt did not write ${imitated.metadata.name ?? ''}`).toBeDefined();
      expect(revisionFields(real)).toEqual(revisionFields(imitated));
      expect((vm['status'] as JsonObject)[`${matcher}Ref`]).toEqual(statusRefFor(m, imitated.metadata.name ?? ''));
    }

    const vmi = await waitFor('VMI from virt-controller', async () => kube.get({ ...vmKey, kind: 'VirtualMachineInstance' }), { timeoutMs: 60_000, intervalMs: 500 });
    const startName = (vmi['status'] as { virtualMachineRevisionName?: string } | undefined)?.virtualMachineRevisionName ?? '';
    const imitatedVmi = vmiFor(vm, startName);
    expect({ name: vmi.metadata.name, namespace: vmi.metadata.namespace, ownerReferences: vmi.metadata.ownerReferences }).toEqual({
      name: imitatedVmi.metadata.name,
      namespace: imitatedVmi.metadata.namespace,
      ownerReferences: imitatedVmi.metadata.ownerReferences,
    });

    const vmAtStart = await kube.get(vmKey);
    const imitatedStart = startRevisionFor(vmAtStart as KubeObject);
    expect(startName).toBe(imitatedStart.metadata.name);
    const realStart = await kube.get({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: ns, name: startName });
    const startFields = (r: KubeObject | undefined): JsonObject => {
      const spec = ((r?.['data'] as JsonObject | undefined)?.['spec'] ?? {}) as JsonObject;
      // The data holds the whole VM spec as Go marshals it (with nulls the API server never shows); the
      // plugin only cares about its revision pins.
      return { ...revisionFields(r), data: { instancetype: spec['instancetype'] ?? null, preference: spec['preference'] ?? null, runStrategy: spec['runStrategy'] ?? null } } as JsonObject;
    };
    expect(startFields(realStart)).toEqual(startFields(imitatedStart));

    const pod = await waitFor('virt-launcher pod from virt-controller', async () => {
      const pods = await kube.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns }, { labelSelector: 'kubevirt.io=virt-launcher' });
      return pods[0];
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const imitatedPod = launcherPodFor(vmi);
    expect(pod.metadata.generateName).toBe(imitatedPod.metadata.generateName);
    expect(pod.metadata.labels).toMatchObject(imitatedPod.metadata.labels ?? {});
    expect(pod.metadata.annotations).toMatchObject(imitatedPod.metadata.annotations ?? {});
    expect(pod.metadata.ownerReferences).toEqual(imitatedPod.metadata.ownerReferences);
    const containers = ((pod['spec'] as JsonObject)['containers'] as { name: string }[]).map((c) => c.name);
    expect(containers).toContain('compute');
  });
});
