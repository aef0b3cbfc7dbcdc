// `npm run bench:e2e`: the end-to-end scale benchmark. A real control plane (with the garbage collector)
// and a real Velero server loading our built plugin back up and restore namespaces of 100 and 1,000
// VMs that use instance types and preferences (cluster and namespaced kinds, KubeVirt >= 1.5 status
// refs), made by the KubeVirt-like fixtures. The restore goes into a mapped namespace, and the VMs
// there are checked: every one back, pinned to its revisions, which hold the original definitions and
// are owned by the restored VM.
//
// Reported per size, all read from what the processes themselves say (nothing estimated):
//   - backup / restore wall time: `velero backup|restore create --wait`, as a user waits for it;
//   - time inside our plugin: the sum of `durationMs` of our host's "<Service>.<Method> done" debug lines;
//   - API requests by the plugin: the `total` of "Kubernetes API requests made by this plugin process"
//     (one line per plugin process, at Shutdown);
//   - peak RSS: the largest `peakRssKiB` of "plugin process exiting" (VmHWM of each plugin process).
// Velero runs with --log-level=debug, so those lines are in its server log, re-logged by Velero in
// logrus text form with our fields (`durationMs=...`) and `cmd=<plugin binary>`.
//
// Sizes: KVP_BENCH_SIZES (default "100,1000"). Figures go to stdout and, with --record, into
// BENCHMARKS.md under "## End-to-end scale (npm run bench:e2e)".
import { cpus, loadavg } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoDir } from '../e2e/harness/components.ts';
import { startControlPlane, type ControlPlane } from '../e2e/harness/control-plane.ts';
import { makePluginDir, startVelero, type Velero } from '../e2e/harness/velero.ts';
import {
  createNamespace,
  createVmLikeKubeVirt,
  instancetype,
  MatcherKinds,
  preference,
  virtualMachine,
  type CreatedVm,
} from '../e2e/fixtures/kubevirt.ts';
import type { KubeObject } from '../src/velero/types.ts';
import { inBatches } from './batches.ts';

const SIZES = (process.env['KVP_BENCH_SIZES'] ?? '100,1000').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n <= 0 || n > 10_000) throw new Error(`KVP_BENCH_SIZES: bad size ${JSON.stringify(s)}`);
  return n;
});
const RECORD = process.argv.includes('--record');
/** Concurrent fixture workers: enough to keep the API server busy, few enough for 2 cores. */
const CONCURRENCY = 24;
/** A velero command on 1,000 VMs can take many minutes on 2 cores; still bounded. */
const VELERO_TIMEOUT_MS = 40 * 60_000;
const PLUGIN_BINARY = 'kubevirt-velero-plugin';

// Shared cluster-scoped kinds; every namespace also gets a namespaced instance type and preference.
const CLUSTER_IT = 'bench-it';
const CLUSTER_PREF = 'bench-pref';
const NS_IT = 'ns-it';
const NS_PREF = 'ns-pref';

interface Figures {
  vms: number;
  createSeconds: number;
  backupSeconds: number;
  backupPhase: string;
  backupItems: number;
  restoreSeconds: number;
  restorePhase: string;
  backupPlugin: PluginFigures;
  restorePlugin: PluginFigures;
  verified: string;
}

interface PluginFigures {
  calls: number;
  callMs: number;
  apiRequests: number;
  processes: number;
  peakRssKiB: number;
  cpuMs: number;
  /** Per method ("RestoreItemActionV2.Execute"): calls and summed milliseconds. */
  byMethod: Map<string, { calls: number; ms: number }>;
}

/** The VM's matchers cycle through the four combinations of cluster and namespaced kinds. */
function vmManifest(ns: string, i: number): KubeObject {
  const clusterIt = i % 2 === 0;
  const clusterPref = i % 4 < 2;
  return virtualMachine({
    name: `vm-${String(i).padStart(4, '0')}`,
    namespace: ns,
    instancetype: clusterIt ? { name: CLUSTER_IT } : { name: NS_IT, kind: MatcherKinds.instancetype },
    preference: clusterPref ? { name: CLUSTER_PREF } : { name: NS_PREF, kind: MatcherKinds.preference },
  });
}

async function populate(cp: ControlPlane, ns: string, vms: number): Promise<Map<string, CreatedVm>> {
  await createNamespace(cp.kube, ns);
  await cp.kube.create(instancetype({ name: NS_IT, namespace: ns, cpu: 4, memory: '4Gi' }));
  await cp.kube.create(preference({ name: NS_PREF, namespace: ns }));
  const created = new Map<string, CreatedVm>();
  await inBatches(vms, CONCURRENCY, async (i) => {
    const c = await createVmLikeKubeVirt(cp.kube, vmManifest(ns, i));
    created.set(c.vm.metadata.name ?? '', c);
  });
  return created;
}

// ---------- reading the velero server log ----------

/** A logrus text field: key=value or key="quoted value". */
function field(line: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(line);
  if (m?.[1] === undefined) return undefined;
  return m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
}

/** Our plugin's figures from a slice of the velero server log (the lines of one backup or restore). */
export function pluginFigures(log: string): PluginFigures {
  const figures: PluginFigures = { calls: 0, callMs: 0, apiRequests: 0, processes: 0, peakRssKiB: 0, cpuMs: 0, byMethod: new Map() };
  for (const line of log.split('\n')) {
    // Velero tags a plugin's re-logged lines with the plugin binary (cmd=...); the AWS plugin's are not ours.
    if (!(field(line, 'cmd') ?? '').endsWith(PLUGIN_BINARY)) continue;
    const msg = field(line, 'msg') ?? '';
    if (/^\S+\.\S+ done$/.test(msg)) {
      const ms = Number(field(line, 'durationMs'));
      if (!Number.isFinite(ms)) throw new Error(`a "done" line without a numeric durationMs: ${line}`);
      figures.calls += 1;
      figures.callMs += ms;
      const method = msg.slice(0, -' done'.length);
      const m = figures.byMethod.get(method) ?? { calls: 0, ms: 0 };
      m.calls += 1;
      m.ms += ms;
      figures.byMethod.set(method, m);
    } else if (msg === 'Kubernetes API requests made by this plugin process') {
      const total = Number(field(line, 'total'));
      if (!Number.isFinite(total)) throw new Error(`an API request count without total: ${line}`);
      figures.apiRequests += total;
    } else if (msg.startsWith('plugin process exiting')) {
      figures.processes += 1;
      const kib = Number(field(line, 'peakRssKiB'));
      if (Number.isFinite(kib)) figures.peakRssKiB = Math.max(figures.peakRssKiB, kib);
      const cpu = Number(field(line, 'cpuMs'));
      if (Number.isFinite(cpu)) figures.cpuMs += cpu;
    }
  }
  // Zero would read as "free": no lines means the log format or level changed, not that nothing ran.
  if (figures.calls === 0 || figures.processes === 0) {
    throw new Error(`no "<Method> done" or "plugin process exiting" lines of ${PLUGIN_BINARY} in the velero server log (is it at --log-level=debug?)`);
  }
  return figures;
}

/**
 * The log written since `from`, once every plugin process Velero started for the operation has said it
 * is exiting: Velero shuts its plugins down just after the operation ends, so the lines trail a little.
 */
async function operationLog(velero: Velero, from: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const slice = velero.logs().slice(from);
    const lines = slice.split('\n').filter((l) => (field(l, 'cmd') ?? '').endsWith(PLUGIN_BINARY));
    const started = new Set(lines.map((l) => field(l, 'pid')).filter((p) => p !== undefined));
    const exited = lines.filter((l) => (field(l, 'msg') ?? '').startsWith('plugin process exiting')).length;
    if ((exited > 0 && exited >= started.size) || Date.now() > deadline) return slice;
    await sleep(500);
  }
}

// ---------- one size ----------

function phaseOf(o: KubeObject): string {
  return ((o['status'] ?? {}) as { phase?: string }).phase ?? 'unknown';
}

async function timed(velero: Velero, args: string[]): Promise<number> {
  const t0 = performance.now();
  const res = await velero.velero(args, { timeoutMs: VELERO_TIMEOUT_MS });
  const seconds = (performance.now() - t0) / 1000;
  if (res.code !== 0) throw new Error(`velero ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return seconds;
}

/** Every VM is back in `ns`, pinned to revisions that exist, hold the original data and are owned by it. */
async function verify(cp: ControlPlane, ns: string, original: Map<string, CreatedVm>): Promise<string> {
  const vms = await cp.kube.list({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns });
  const revisions = new Map(
    (await cp.kube.list({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: ns })).map((r) => [r.metadata.name ?? '', r]),
  );
  const problems: string[] = [];
  if (vms.length !== original.size) problems.push(`${vms.length} VMs restored, ${original.size} backed up`);
  for (const vm of vms) {
    const name = vm.metadata.name ?? '';
    const before = original.get(name);
    if (before === undefined) {
      problems.push(`unexpected VM ${name}`);
      continue;
    }
    const spec = vm['spec'] as { instancetype?: { revisionName?: string }; preference?: { revisionName?: string } };
    for (const [matcher, want] of [
      ['instancetype', before.instancetypeRevision],
      ['preference', before.preferenceRevision],
    ] as const) {
      const revName = spec[matcher]?.revisionName;
      if (revName !== want?.metadata.name) {
        problems.push(`${name}: ${matcher} revisionName ${String(revName)}, want ${String(want?.metadata.name)}`);
        continue;
      }
      const rev = revisions.get(revName ?? '');
      if (rev === undefined) problems.push(`${name}: revision ${String(revName)} missing`);
      else if (JSON.stringify(rev['data']) !== JSON.stringify(want?.['data'])) problems.push(`${name}: revision ${String(revName)} data differs`);
      else if (rev.metadata.ownerReferences?.[0]?.uid !== vm.metadata.uid) problems.push(`${name}: revision ${String(revName)} not owned by the restored VM`);
    }
  }
  if (problems.length > 0) throw new Error(`restored namespace ${ns} is wrong (${problems.length} problems):\n${problems.slice(0, 20).join('\n')}`);
  return `${vms.length} VMs, ${revisions.size} revisions, all pinned, original data, owned`;
}

async function runSize(cp: ControlPlane, velero: Velero, vms: number): Promise<Figures> {
  const ns = `scale-${vms}`;
  const mapped = `${ns}-restored`;
  log(`${vms} VMs: creating namespace ${ns}`);
  const t0 = performance.now();
  const original = await populate(cp, ns, vms);
  const createSeconds = (performance.now() - t0) / 1000;
  log(`${vms} VMs: created in ${createSeconds.toFixed(1)} s; backing up`);

  const backupName = `${ns}-b`;
  let from = velero.logs().length;
  const backupSeconds = await timed(velero, ['backup', 'create', backupName, '--include-namespaces', ns, '--snapshot-volumes=false', '--wait']);
  const backup = await velero.waitForBackup(backupName);
  const backupPlugin = pluginFigures(await operationLog(velero, from));
  const backupItems = ((backup['status'] ?? {}) as { progress?: { itemsBackedUp?: number } }).progress?.itemsBackedUp ?? 0;
  log(`${vms} VMs: backup ${phaseOf(backup)} in ${backupSeconds.toFixed(1)} s (${backupItems} items); restoring into ${mapped}`);

  const restoreName = `${ns}-r`;
  from = velero.logs().length;
  const restoreSeconds = await timed(velero, ['restore', 'create', restoreName, '--from-backup', backupName, '--namespace-mappings', `${ns}:${mapped}`, '--wait']);
  const restore = await velero.waitForRestore(restoreName);
  const restorePlugin = pluginFigures(await operationLog(velero, from));
  log(`${vms} VMs: restore ${phaseOf(restore)} in ${restoreSeconds.toFixed(1)} s; verifying`);
  if (phaseOf(backup) !== 'Completed' || phaseOf(restore) !== 'Completed') {
    const describe = await velero.velero(['restore', 'describe', restoreName, '--details']);
    throw new Error(`backup ${phaseOf(backup)}, restore ${phaseOf(restore)} (want Completed):\n${describe.stdout.slice(0, 4000)}`);
  }
  const verified = await verify(cp, mapped, original);
  return {
    vms,
    createSeconds,
    backupSeconds,
    backupPhase: phaseOf(backup),
    backupItems,
    restoreSeconds,
    restorePhase: phaseOf(restore),
    backupPlugin,
    restorePlugin,
    verified,
  };
}

// ---------- report ----------

function log(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The methods that took more than 1% of the plugin's time: "Execute 20.1 s / 1000 calls". */
function methods(p: PluginFigures): string {
  return [...p.byMethod.entries()]
    .filter(([, m]) => m.ms > p.callMs / 100)
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([name, m]) => `${name.split('.').pop() ?? name} ${(m.ms / 1000).toFixed(2)} s / ${m.calls}`)
    .join(', ');
}

function processes(n: number): string {
  return `${n} plugin process${n === 1 ? '' : 'es'}`;
}

function table(results: Figures[]): string {
  const rows: [string, (f: Figures) => string][] = [
    ['VMs created by the fixtures (6 API calls each)', (f) => `${f.createSeconds.toFixed(1)} s`],
    ['backup wall time (`velero backup create --wait`)', (f) => `${f.backupSeconds.toFixed(1)} s (${f.backupPhase}, ${f.backupItems} items)`],
    ['backup: time inside our plugin (sum of calls)', (f) => `${(f.backupPlugin.callMs / 1000).toFixed(2)} s in ${f.backupPlugin.calls} calls`],
    ['backup: plugin time by method', (f) => methods(f.backupPlugin)],
    ['backup: CPU time of the plugin processes', (f) => `${(f.backupPlugin.cpuMs / 1000).toFixed(2)} s`],
    ['backup: API requests by the plugin', (f) => `${f.backupPlugin.apiRequests} (${processes(f.backupPlugin.processes)})`],
    ['backup: peak RSS of a plugin process', (f) => `${(f.backupPlugin.peakRssKiB / 1024).toFixed(1)} MiB`],
    ['restore wall time (`velero restore create --wait`)', (f) => `${f.restoreSeconds.toFixed(1)} s (${f.restorePhase})`],
    ['restore: time inside our plugin (sum of calls)', (f) => `${(f.restorePlugin.callMs / 1000).toFixed(2)} s in ${f.restorePlugin.calls} calls`],
    ['restore: plugin time by method', (f) => methods(f.restorePlugin)],
    ['restore: CPU time of the plugin processes', (f) => `${(f.restorePlugin.cpuMs / 1000).toFixed(2)} s`],
    ['restore: API requests by the plugin', (f) => `${f.restorePlugin.apiRequests} (${processes(f.restorePlugin.processes)})`],
    ['restore: peak RSS of a plugin process', (f) => `${(f.restorePlugin.peakRssKiB / 1024).toFixed(1)} MiB`],
    ['restored namespace checked', (f) => f.verified],
  ];
  const head = `| measure | ${results.map((r) => `${r.vms.toLocaleString('en-US')} VMs`).join(' | ')} |`;
  const sep = `| --- | ${results.map(() => '---').join(' | ')} |`;
  return [head, sep, ...rows.map(([name, get]) => `| ${name} | ${results.map(get).join(' | ')} |`)].join('\n');
}

const HEADING = '## End-to-end scale (npm run bench:e2e)';

function record(section: string): void {
  const path = join(repoDir, 'BENCHMARKS.md');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf(HEADING);
  if (start === -1) {
    writeFileSync(path, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  // Replace only our section: up to the next "## " heading.
  const next = text.indexOf('\n## ', start + HEADING.length);
  writeFileSync(path, text.slice(0, start) + section + (next === -1 ? '' : text.slice(next + 1)));
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  log(`starting the control plane and Velero (sizes ${SIZES.join(', ')})`);
  const cp = await startControlPlane({ controllerManager: true });
  let velero: Velero | undefined;
  const results: Figures[] = [];
  try {
    velero = await startVelero(cp, { pluginDir: await makePluginDir() });
    await cp.kube.create(instancetype({ name: CLUSTER_IT, cpu: 2, memory: '2Gi' }));
    await cp.kube.create(preference({ name: CLUSTER_PREF }));
    for (const n of SIZES) results.push(await runSize(cp, velero, n));
  } finally {
    await velero?.stop();
    await cp.stop();
  }
  const out = table(results);
  process.stdout.write(`\n${out}\n`);
  const section =
    `${HEADING}\n\n` +
    `Run on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ` +
    `Node ${process.version}, load average ${load} at start: \`KVP_BENCH_SIZES=${SIZES.join(',')} npm run bench:e2e -- --record\`.\n` +
    `A real kube-apiserver + kube-controller-manager and a real Velero v1.18 server (--log-level=debug) with our built plugin; ` +
    `each VM uses an instance type and a preference (cluster and namespaced kinds in turn, KubeVirt >= 1.5 status refs), ` +
    `two ControllerRevisions each. Restore into a mapped namespace, then every VM is checked. Plugin figures come from the ` +
    `plugin's own log lines in the Velero server log (sum of call durations, CPU time, API request counts at Shutdown, VmHWM at exit). ` +
    `On restore, Progress is the Velero v2 operation that makes each restored VM the controller of its revisions ` +
    `(one GET of the VM, then a GET and a PATCH per revision, in sequence).\n\n` +
    `${out}\n`;
  if (RECORD) {
    record(section);
    log('recorded in BENCHMARKS.md');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:e2e failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
