// Issue 13, part 2: `kubevirt-velero-plugin inspect` predicts a restore, and the real restore then does
// exactly that, VM by VM. Tarballs come from real Velero backups (with this plugin; with it and the
// revisions excluded; without it and the revisions excluded), fetched with `velero backup download`;
// one VM's revision was already gone at backup. The BUILT binary runs inspect (with --kubeconfig and
// --namespace-mappings, read-only) first; a real restore with the same options follows, and the VMs,
// their revision outcomes (from the restore's log), the refusals (from its errors) and the verdict are
// compared. A last part checks that inspect reads the target's Secrets and ConfigMaps as metadata only,
// from the API server's audit log (bodies of secrets/configmaps recorded).
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InspectReport, VmReport } from '../src/inspect/predict.ts';
import { KubeClient } from '../src/kube/client.ts';
import { PLUGIN_PROGRAM } from '../src/kube/user-agent.ts';
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import { backupTarball } from '../test/inspect/tarballs.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, preference, virtualMachine } from './fixtures/kubevirt.ts';
import { run, waitFor } from './harness/process.ts';
import { useControlPlane } from './harness/setup.ts';
import { makePluginDir, ourBinaryPath, startVelero, statusOf, type Velero } from './harness/velero.ts';

const NS = 'insp';
const env = useControlPlane({ controllerManager: true, auditLog: true, auditResponsesOf: ['secrets', 'configmaps'] });
let velero: Velero;
const scratch = mkdtempSync(join(tmpdir(), 'kvp-e2e-inspect-'));

async function veleroOk(v: Velero, args: string[]): Promise<void> {
  const res = await v.velero(args);
  expect(res.code, `velero ${args.join(' ')}: ${res.stderr}`).toBe(0);
}

/** The tarball as `velero backup download` writes it (through the object store's signed URL). */
async function download(v: Velero, backup: string): Promise<string> {
  const path = join(scratch, `${backup}-data.tar.gz`);
  if (!existsSync(path)) await veleroOk(v, ['backup', 'download', backup, '-o', path]);
  return path;
}

async function inspect(tarball: string, args: string[]): Promise<{ code: number; report: InspectReport }> {
  const res = await run(ourBinaryPath(), ['inspect', tarball, '--output', 'json', '--kubeconfig', env.cp.kubeconfigPath, ...args], { timeoutMs: 60_000 });
  expect(res.stderr).toBe('');
  return { code: res.code, report: JSON.parse(res.stdout) as InspectReport };
}

/** Per VM, what the restore's log says happened to each revision (outcome fields of the plugin's lines). */
function outcomesFromLog(log: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of log.split('\n')) {
    const vm = /\bvm=([\w.-]+\/[\w.-]+)/.exec(line)?.[1];
    const outcome = /\boutcome=([\w-]+)/.exec(line)?.[1];
    if (vm === undefined || outcome === undefined || outcome === 'owned') continue;
    const revision = /\brevision=([\w.-]+)/.exec(line)?.[1];
    out.set(vm, [...(out.get(vm) ?? []), revision === undefined ? outcome : `${revision}:${outcome}`]);
  }
  return out;
}

const outcomeNames = (vm: VmReport | undefined): string[] => (vm?.selected.revisions ?? []).map((r) => r.outcome).sort();

/** The prediction in the same terms as outcomesFromLog. */
function predictedOutcomes(vm: VmReport): string[] {
  if (vm.selected.result === 'expanded') return ['expanded'];
  return vm.selected.revisions.map((r) => `${r.name}:${r.outcome}`);
}

/**
 * Inspects, restores with the same options, and compares VM by VM: the VM is there (refused: absent),
 * expanded or not, each revision's outcome, and that the verdict matches.
 */
async function predictThenRestore(backup: string, tarball: string, target: string, policy?: string, expandVms = false): Promise<InspectReport> {
  const options = [...(policy ? ['--missing-revision-policy', policy] : []), ...(expandVms ? ['--expand-vms'] : [])];
  const { code, report } = await inspect(tarball, ['--namespace-mappings', `${NS}:${target}`, ...options]);
  expect(code).toBe(report.allRunnable ? 0 : 3);
  expect(report.clusterChecked).toBe(true);
  expect(report.namespaces).toEqual({ [target]: false });

  const labels = [...(policy ? [`velero.kubevirt.io/missing-revision-policy=${policy}`] : []), ...(expandVms ? ['velero.kubevirt.io/expand-vms=true'] : [])];
  const restoreName = `${target}-r`;
  await veleroOk(velero, ['restore', 'create', restoreName, '--from-backup', backup, '--namespace-mappings', `${NS}:${target}`, ...(labels.length ? ['--labels', labels.join(',')] : []), '--wait']);
  const restore = await velero.waitForRestore(restoreName);
  const logs = (await velero.velero(['restore', 'logs', restoreName])).stdout;
  const describe = (await velero.velero(['restore', 'describe', restoreName, '--details'])).stdout;
  const actual = outcomesFromLog(logs);
  const anyRefused = report.vms.some((v) => v.selected.result === 'refused');
  expect(statusOf(restore).phase).toBe(anyRefused ? 'PartiallyFailed' : 'Completed');

  for (const vm of report.vms) {
    const what = `${vm.namespace}/${vm.name} (${report.judgedBy})`;
    // A refused VM is named in the restore's errors; Velero still creates it (docs/restore.md, "Limits"),
    // and without KubeVirt's webhook here nothing rejects it.
    expect(describe.includes(`VirtualMachine ${target}/${vm.name} cannot be restored`), `${what}: refused <=> named in the errors`).toBe(
      vm.selected.result === 'refused',
    );
    const restored = await env.cp.kube.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: target, name: vm.name });
    expect(restored, `${what}: the VM exists`).toBeDefined();
    if (restored !== undefined) {
      const spec = restored['spec'] as JsonObject;
      expect(spec['instancetype'] === undefined && spec['preference'] === undefined, `${what}: expanded`).toBe(
        vm.selected.result === 'expanded' || vm.matchers.length === 0,
      );
    }
    // The action logs revisions found at Execute before those decided after the additional items: compare as sets.
    expect([...(actual.get(`${target}/${vm.name}`) ?? [])].sort(), `${what}: revision outcomes`).toEqual(predictedOutcomes(vm).sort());
  }
  return report;
}

describe('inspect predicts, the real restore agrees', () => {
  // Velero and its backups only for this block: the metadata-only check below needs neither.
  beforeAll(async () => {
    const kube = env.cp.kube;
    await createNamespace(kube, NS);
    await kube.create(instancetype({ name: 'insp-it', cpu: 2, memory: '2Gi' }));
    await kube.create(preference({ name: 'insp-pref', namespace: NS }));
    const withTypes = (name: string): KubeObject =>
      virtualMachine({ name, namespace: NS, instancetype: { name: 'insp-it' }, preference: { name: 'insp-pref', kind: 'virtualmachinepreference' } });
    await createVmLikeKubeVirt(kube, withTypes('vm-a'));
    // vm-b's instance type revision is gone before any backup: no copy of it can be embedded.
    const b = await createVmLikeKubeVirt(kube, withTypes('vm-b'));
    await kube.delete({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: NS, name: b.instancetypeRevision?.metadata.name ?? '' });
    await createVmLikeKubeVirt(kube, virtualMachine({ name: 'vm-c', namespace: NS }));

    // A Velero with only the AWS plugin backs the namespace up, revisions excluded; its backup is kept
    // for the Velero with this plugin, which takes the other two.
    const plain = await startVelero(env.cp, { pluginDir: await makePluginDir({ ours: false }) });
    try {
      await veleroOk(plain, ['backup', 'create', 'insp-noplugin', '--include-namespaces', NS, '--exclude-resources', 'controllerrevisions.apps', '--snapshot-volumes=false', '--wait']);
      expect(statusOf(await plain.waitForBackup('insp-noplugin')).phase).toBe('Completed');
      cpSync(join(plain.bucketDir, 'backups', 'insp-noplugin'), join(scratch, 'saved', 'insp-noplugin'), { recursive: true });
    } finally {
      await plain.stop();
    }
    velero = await startVelero(env.cp, { pluginDir: await makePluginDir() });
    cpSync(join(scratch, 'saved', 'insp-noplugin'), join(velero.bucketDir, 'backups', 'insp-noplugin'), { recursive: true });
    await veleroOk(velero, ['backup', 'create', 'insp-full', '--include-namespaces', NS, '--snapshot-volumes=false', '--wait']);
    await veleroOk(velero, ['backup', 'create', 'insp-norev', '--include-namespaces', NS, '--exclude-resources', 'controllerrevisions.apps', '--snapshot-volumes=false', '--wait']);
    await waitFor('the plain backup synced into this Velero', async () => ((await velero.getBackup('insp-noplugin')) !== undefined ? true : undefined), { timeoutMs: 120_000, intervalMs: 1000 });
    // The instance type changes after every backup: a re-creation from the object is NOT the original.
    await kube.mergePatch({ apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterInstancetype', name: 'insp-it' }, { spec: { cpu: { guest: 6 } } });
  }, 600_000);

  afterAll(async () => {
    await velero?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('backup with this plugin: vm-a restored from the backup, vm-b re-created from the current object, vm-c plain', async () => {
    const report = await predictThenRestore('insp-full', await download(velero, 'insp-full'), 'insp-full-t');
    const byName = new Map(report.vms.map((v) => [v.name, v]));
    expect(byName.get('vm-a')?.matchers.map((m) => m.revision?.source)).toEqual(['backup', 'backup']);
    expect(byName.get('vm-b')?.matchers.map((m) => m.revision?.source)).toEqual(['current-object', 'backup']);
    expect(byName.get('vm-a')).toMatchObject({ labelled: true, selector: 'velero.kubevirt.io/vm=vm-a' });
    // What the restore's log was found to agree with (predictThenRestore compared them):
    expect(outcomeNames(byName.get('vm-a'))).toEqual(['restored', 'restored']);
    expect(outcomeNames(byName.get('vm-b'))).toEqual(['recreate-from-object', 'restored']);
    expect(outcomeNames(byName.get('vm-c'))).toEqual([]);
    expect(report.allRunnable).toBe(true);
  });

  it('revisions excluded, policy fail: vm-a and vm-b refused (fail refuses even with a copy), vm-c restored; exit 3', async () => {
    const report = await predictThenRestore('insp-norev', await download(velero, 'insp-norev'), 'insp-norev-f', 'fail');
    expect(report.vms.filter((v) => v.selected.result === 'refused').map((v) => v.name)).toEqual(['vm-a', 'vm-b']);
    expect(report.allRunnable).toBe(false);
  });

  it('revisions excluded, policy recreate: vm-a from its embedded copies (exact), vm-b from the current object', async () => {
    const report = await predictThenRestore('insp-norev', await download(velero, 'insp-norev'), 'insp-norev-r');
    expect(report.vms.find((v) => v.name === 'vm-a')?.matchers.map((m) => m.revision?.source)).toEqual(['embedded-copy', 'embedded-copy']);
    expect(outcomeNames(report.vms.find((v) => v.name === 'vm-a'))).toEqual(['recreate-from-copy', 'recreate-from-copy']);
    expect(outcomeNames(report.vms.find((v) => v.name === 'vm-b'))).toEqual(['recreate-from-copy', 'recreate-from-object']);
  });

  it('backup WITHOUT this plugin, revisions excluded: recreate from the objects, then expand-vms', async () => {
    const tarball = await download(velero, 'insp-noplugin');
    const report = await predictThenRestore('insp-noplugin', tarball, 'insp-np-r');
    expect(report.vms.find((v) => v.name === 'vm-a')).toMatchObject({ labelled: false });
    expect(outcomeNames(report.vms.find((v) => v.name === 'vm-a'))).toEqual(['recreate-from-object', 'recreate-from-object']);
    const expanded = await predictThenRestore('insp-noplugin', tarball, 'insp-np-x', undefined, true);
    expect(expanded.vms.map((v) => `${v.name} ${v.selected.result}`)).toEqual(['vm-a expanded', 'vm-b expanded', 'vm-c restored']);
  });
});

describe('inspect reads the target cluster without receiving secret data', () => {
  it("a VM's secrets and config maps are checked as metadata only: found, missing, and their data never sent", async () => {
    const kube = env.cp.kube;
    const ns = 'insp-meta';
    // Random, so that finding it in the audit log can only mean the value was sent.
    const secretValue = `s3cret-${randomBytes(12).toString('hex')}`;
    const configValue = `config-${randomBytes(12).toString('hex')}`;
    await createNamespace(kube, ns);
    await kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vm-creds', namespace: ns }, stringData: { password: secretValue } });
    await kube.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vm-config', namespace: ns }, data: { setting: configValue } });
    // The backup holds the VM only: inspect has to ask the target whether what it mounts is there.
    const vm = virtualMachine({
      name: 'vm-mounts',
      namespace: ns,
      volumes: [
        { name: 'rootdisk', containerDisk: { image: 'quay.io/containerdisks/fedora:latest' } },
        { name: 'creds', secret: { secretName: 'vm-creds' } },
        { name: 'config', configMap: { name: 'vm-config' } },
        { name: 'gone', secret: { secretName: 'vm-missing' } },
      ],
    });
    const { report } = await inspect(backupTarball([vm]), []);
    const inTarget = Object.fromEntries((report.vms[0]?.volumes ?? []).map((v) => [`${v.kind} ${v.name}`, v.inTargetCluster]));
    expect(inTarget).toEqual({ 'Secret vm-creds': true, 'ConfigMap vm-config': true, 'Secret vm-missing': false });

    // The test's own GET of the secret shows that the audit log records what a full read sends.
    await kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'vm-creds' });
    const events = readFileSync(env.cp.auditLogPath ?? '', 'utf8')
      .split('\n')
      .filter((line) => line.includes(`"namespace":"${ns}"`))
      .map((line) => ({ line, event: JSON.parse(line) as AuditEvent }));
    const encoded = Buffer.from(secretValue).toString('base64');
    const reads = events.filter(({ event }) => event.verb === 'get' && ['secrets', 'configmaps'].includes(event.objectRef?.resource ?? ''));
    const ours = reads.filter(({ event }) => event.userAgent?.startsWith(`${PLUGIN_PROGRAM}/`) === true);
    const theTests = reads.filter(({ event }) => event.userAgent?.startsWith(`${PLUGIN_PROGRAM}/`) !== true);
    expect(theTests.some(({ line }) => line.includes(encoded)), 'a full GET of the secret is recorded with its data').toBe(true);

    expect(ours.map(({ event }) => `${event.objectRef?.resource ?? ''}/${event.objectRef?.name ?? ''} ${event.responseStatus?.code ?? 0}`).sort()).toEqual([
      'configmaps/vm-config 200',
      'secrets/vm-creds 200',
      'secrets/vm-missing 404',
    ]);
    for (const { line, event } of ours) {
      if (event.responseStatus?.code === 200) expect(event.responseObject?.kind, line.slice(0, 200)).toBe('PartialObjectMetadata');
      expect(line.includes(secretValue) || line.includes(encoded) || line.includes(configValue), 'no secret or config value in what inspect received').toBe(false);
    }
  });

  it("the client's metadata-only LIST gets the secrets' names from the real API server, not their data", async () => {
    const ns = 'insp-meta-list';
    const secretValue = `s3cret-${randomBytes(12).toString('hex')}`;
    await createNamespace(env.cp.kube, ns);
    for (const name of ['a', 'b']) {
      await env.cp.kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { password: secretValue } });
    }
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(env.cp.kubeconfigPath);
    // Page size 1: the continue token of a metadata-only list is followed too.
    const listed = await new KubeClient({ kubeConfig, listPageSize: 1 }).listMetadata({ apiVersion: 'v1', kind: 'Secret', namespace: ns });
    expect(listed.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name ?? ''} ${Object.keys(o).sort().join(',')}`)).toEqual([
      'meta.k8s.io/v1 PartialObjectMetadata a apiVersion,kind,metadata',
      'meta.k8s.io/v1 PartialObjectMetadata b apiVersion,kind,metadata',
    ]);
    const lists = readFileSync(env.cp.auditLogPath ?? '', 'utf8')
      .split('\n')
      .filter((line) => line.includes(`"requestURI":"/api/v1/namespaces/${ns}/secrets?`))
      .map((line) => ({ line, event: JSON.parse(line) as AuditEvent }));
    expect(lists.map(({ event }) => event.responseObject?.kind)).toEqual(['PartialObjectMetadataList', 'PartialObjectMetadataList']);
    for (const { line } of lists) expect(line.includes(Buffer.from(secretValue).toString('base64'))).toBe(false);
  });
});

/** The fields of a kube-apiserver audit event (audit.k8s.io/v1 Event) this file reads. */
interface AuditEvent {
  verb?: string;
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  responseObject?: { kind?: string };
}
