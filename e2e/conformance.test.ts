// Protocol conformance through Velero's own plugin client code (e2e/conformance/main.go): discovery,
// handshake, listing, and every item action method of every action our binary registers, called the
// way the Velero server calls them. Fast, and a protocol fault here names the action and method.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binary } from './harness/components.ts';
import { useControlPlane } from './harness/setup.ts';
import { run } from './harness/process.ts';
import { makePluginDir } from './harness/velero.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, preference, virtualMachine } from './fixtures/kubevirt.ts';
import { ActionNames } from '../src/kubevirt/constants.ts';
import { parseJson, stringifyJson } from '../src/shared/json.ts';

interface Call {
  method: string;
  item?: string;
  ok: boolean;
  error?: string;
  durationMs: number;
  result?: unknown;
}
interface ActionReport {
  /** What the plugin registered. */
  kind: string;
  /** The client interface Velero drove it through (v1 actions are also driven through v2 adapters). */
  calledAs: string;
  name: string;
  command: string;
  appliesTo?: { IncludedResources?: string[] | null };
  calls: Call[];
}
interface Report {
  pluginDir: string;
  plugins: { Command: string; Kind: string; Name: string }[];
  actions: ActionReport[];
  error?: string;
}

// Failures of the transport or of the plugin process, as opposed to an error the action returned.
const PROTOCOL_FAULT = /code = (Unavailable|Unimplemented|Canceled|DeadlineExceeded)|plugin process exited|connection refused|transport is closing|error reading from server|no answer within|panic in client|unable to get valid/i;

const NS = 'conformance';
const BIG = 9007199254740993n;
const env = useControlPlane();
let dir: string;
let report: Report;
let stderr: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kvp-e2e-conformance-'));
  await createNamespace(env.cp.kube, NS);
  await env.cp.kube.create(instancetype({ name: 'conformance-small' }));
  await env.cp.kube.create(preference({ name: 'conformance-pref', namespace: NS }));
  const { vm, instancetypeRevision, preferenceRevision } = await createVmLikeKubeVirt(
    env.cp.kube,
    virtualMachine({
      name: 'sample',
      namespace: NS,
      instancetype: { name: 'conformance-small' },
      preference: { name: 'conformance-pref', kind: 'virtualmachinepreference' },
      // An int64 past 2^53: must cross Velero's client, gRPC and our plugin exactly.
      templateSpec: { terminationGracePeriodSeconds: BIG },
    }),
  );
  // Bad input: the action must answer with an error (or pass it through), never take the process down.
  const broken = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'broken', namespace: NS }, spec: 'not-an-object' };
  const items = {
    backup: {
      apiVersion: 'velero.io/v1',
      kind: 'Backup',
      metadata: { name: 'conformance-backup', namespace: 'velero', uid: '6f1b2a3c-0000-4000-8000-00000000b001' },
      spec: { includedNamespaces: [NS] },
      status: { phase: 'InProgress' },
    },
    restore: {
      apiVersion: 'velero.io/v1',
      kind: 'Restore',
      metadata: { name: 'conformance-restore', namespace: 'velero', uid: '6f1b2a3c-0000-4000-8000-00000000a001' },
      spec: { backupName: 'conformance-backup' },
      status: { phase: 'InProgress' },
    },
    items: [
      { resource: 'virtualmachines.kubevirt.io', object: vm },
      { resource: 'virtualmachines.kubevirt.io', object: broken },
      { resource: 'controllerrevisions.apps', object: instancetypeRevision },
      { resource: 'controllerrevisions.apps', object: preferenceRevision },
    ],
  };
  const itemsFile = join(dir, 'items.json');
  writeFileSync(itemsFile, stringifyJson(items));
  const pluginDir = await makePluginDir({ dir: join(dir, 'plugins') });
  // As `velero server` does, the flags after `run` reach every plugin process as its arguments.
  const res = await run(
    binary('conformance'),
    ['run', `--plugin-dir=${pluginDir}`, `--items=${itemsFile}`, '--log-level=debug', `--kubeconfig=${env.cp.kubeconfigPath}`, '--namespace=velero'],
    { env: { ...process.env, KUBECONFIG: env.cp.kubeconfigPath, HOME: dir }, timeoutMs: 240_000 },
  );
  stderr = res.stderr;
  if (res.stdout.trim() === '') throw new Error(`conformance printed no report (exit ${res.code}):\n${res.stderr.slice(-4000)}`);
  report = parseJson(res.stdout, 'conformance report') as unknown as Report;
});

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const ours = (): ActionReport[] => report.actions.filter((a) => a.command.endsWith('/kubevirt-velero-plugin'));

describe("our binary through Velero's plugin client", () => {
  it('is discovered with no error, next to velero-plugin-for-aws', () => {
    expect(report.error).toBeUndefined();
    expect(report.plugins.some((p) => p.Name === 'velero.io/aws' && p.Kind === 'ObjectStore')).toBe(true);
    expect(ours().length).toBeGreaterThan(0);
  });

  it("registers only the reference plugin's action names, each under an item action kind", () => {
    for (const a of ours()) {
      expect(Object.values(ActionNames) as string[]).toContain(a.name);
      expect(a.kind).toMatch(/^((BackupItemAction|RestoreItemAction)(V2)?|ItemBlockAction)$/);
    }
  });

  it('answers every call of every action without a protocol fault', () => {
    const faults = ours().flatMap((a) => a.calls.filter((c) => c.error !== undefined && PROTOCOL_FAULT.test(c.error)).map((c) => `${a.kind} ${a.name} ${c.method} ${c.item ?? ''}: ${c.error ?? ''}`));
    expect(faults, stderr.slice(-3000)).toEqual([]);
  });

  it('answers AppliesTo for every action; through v2, Progress and Cancel (and AreAdditionalItemsReady for restore)', () => {
    for (const a of ours()) {
      const methods = a.calls.map((c) => c.method);
      expect(a.calls[0], `${a.name} as ${a.calledAs}`).toMatchObject({ method: 'AppliesTo', ok: true });
      if (a.calledAs === 'BackupItemActionV2') expect(methods).toEqual(expect.arrayContaining(['Progress', 'Cancel']));
      if (a.calledAs === 'RestoreItemActionV2') expect(methods).toEqual(expect.arrayContaining(['Progress', 'Cancel', 'AreAdditionalItemsReady']));
    }
  });

  it('is driven through the v2 client for every action, as the Velero server does', () => {
    // (ItemBlockAction has a single version.)
    const v1 = ours().filter((a) => a.calledAs === a.kind && !a.kind.endsWith('V2') && a.kind !== 'ItemBlockAction');
    for (const a of v1) {
      expect(ours().some((b) => b.name === a.name && b.calledAs === `${a.kind}V2`), `${a.name} through ${a.kind}V2`).toBe(true);
    }
  });

  it('executes the VirtualMachine backup action on a KubeVirt-like VM and returns the VM', () => {
    const a = ours().find((x) => x.name === ActionNames.backupVirtualMachine && x.calledAs === 'BackupItemActionV2');
    expect(a, 'backup-virtualmachine-action is registered').toBeDefined();
    const exec = a?.calls.find((c) => c.method === 'Execute' && c.item === `virtualmachines.kubevirt.io/${NS}/sample`);
    expect(exec, 'Execute was called on the VM').toBeDefined();
    expect(exec?.error).toBeUndefined();
    const result = exec?.result as { item?: { kind?: string; metadata?: { name?: string } } } | undefined;
    expect(result?.item).toMatchObject({ kind: 'VirtualMachine', metadata: { name: 'sample' } });
    expect(result?.item).toMatchObject({ spec: { template: { spec: { terminationGracePeriodSeconds: BIG } } } });
  });

  it("drives the VM ItemBlockAction through Velero's item block client: discovered, and related items = the backup action's", () => {
    const block = ours().find((x) => x.name === ActionNames.blockVm);
    expect(block, 'block-vm-action is registered').toMatchObject({ kind: 'ItemBlockAction', calledAs: 'ItemBlockAction' });
    expect(block?.appliesTo?.IncludedResources).toEqual(['virtualmachines.kubevirt.io']);
    const related = block?.calls.find((c) => c.method === 'GetRelatedItems' && c.item === `virtualmachines.kubevirt.io/${NS}/sample`);
    expect(related, 'GetRelatedItems was called on the VM').toMatchObject({ ok: true });
    const backup = ours().find((x) => x.name === ActionNames.backupVirtualMachine && x.calledAs === 'BackupItemAction');
    const executed = backup?.calls.find((c) => c.method === 'Execute' && c.item === `virtualmachines.kubevirt.io/${NS}/sample`);
    const relatedItems = (related?.result as { relatedItems: { resource: string }[] }).relatedItems;
    expect(relatedItems.map((i) => i.resource).sort()).toEqual(
      ['controllerrevisions', 'controllerrevisions', 'virtualmachineclusterinstancetypes', 'virtualmachinepreferences'].sort(),
    );
    expect(relatedItems).toEqual((executed?.result as { additionalItems: unknown[] }).additionalItems);
  });

  it('answers a malformed VM without a protocol fault, and keeps answering afterwards', () => {
    for (const a of ours().filter((x) => x.calls.some((c) => c.item === `virtualmachines.kubevirt.io/${NS}/broken`))) {
      const i = a.calls.findIndex((c) => c.item === `virtualmachines.kubevirt.io/${NS}/broken`);
      const call = a.calls[i];
      if (call?.error !== undefined) expect(call.error, `${a.name}`).not.toMatch(PROTOCOL_FAULT);
      // Every later call to the same action got an answer from a live process.
      for (const later of a.calls.slice(i + 1)) expect(later.error ?? '', `${a.name} ${later.method}`).not.toMatch(PROTOCOL_FAULT);
    }
    expect(ours().some((x) => x.calls.some((c) => c.item === `virtualmachines.kubevirt.io/${NS}/broken`)), 'the malformed VM was executed').toBe(true);
  });
});
