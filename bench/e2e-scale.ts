// `npm run bench:e2e`: the end-to-end scale benchmark. A real control plane (with the garbage collector)
// and a real Velero server loading our built plugin back up and restore namespaces of 100 and 1,000
// VMs that use instance types and preferences (cluster and namespaced kinds, KubeVirt >= 1.5 status
// refs), made by the KubeVirt-like fixtures. The restore goes into a mapped namespace, and the VMs
// there are checked: every one back, pinned to its revisions, which hold the original definitions and
// are owned by the restored VM.
//
// Reported per size, all read from what the processes themselves say (nothing estimated):
//   - backup / restore wall time: `velero backup|restore create --wait`, as a user waits for it;
//   - time inside our plugin: the per-method call counts and milliseconds on each plugin process's
//     "plugin process exiting" line (`calls=Method=n/ms,...`, summed by src/host/unary.ts);
//   - API requests by the plugin: the `total` of "Kubernetes API requests made by this plugin process"
//     (one line per plugin process, at Shutdown);
//   - peak RSS: the largest `peakRssKiB` of "plugin process exiting" (VmHWM of each plugin process).
// Those lines are at info level, so they are in Velero's server log at its default level too
// (KVP_BENCH_VELERO_LOG_LEVEL=info; the default here stays debug, as in every earlier run), re-logged
// by Velero in logrus text form with our fields and `cmd=<plugin binary>`.
//
// KVP_BENCH_LOG_DIR=DIR keeps the Velero server logs there.
// Sizes: KVP_BENCH_SIZES (default "100,1000"). Figures go to stdout and, with --record, into
// BENCHMARKS.md under "## End-to-end scale (npm run bench:e2e)".
import { cpuMsOfStat } from '../src/shared/proc-stat.ts';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
import { field } from './logrus-line.ts';

const SIZES = (process.env['KVP_BENCH_SIZES'] ?? '100,1000').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n <= 0 || n > 10_000) throw new Error(`KVP_BENCH_SIZES: bad size ${JSON.stringify(s)}`);
  return n;
});
const RECORD = process.argv.includes('--record');
/**
 * Velero's log level for both servers: debug (default, as every earlier run) or info, Velero's default
 * and what users run. At info neither Velero nor the plugin writes its per-call debug lines; the call
 * figures then come from the plugin's exit line alone.
 */
const VELERO_LOG_LEVEL = process.env['KVP_BENCH_VELERO_LOG_LEVEL'] ?? 'debug';
if (VELERO_LOG_LEVEL !== 'debug' && VELERO_LOG_LEVEL !== 'info') throw new Error(`KVP_BENCH_VELERO_LOG_LEVEL: debug or info, not ${VELERO_LOG_LEVEL}`);
const VELERO_ARGS = VELERO_LOG_LEVEL === 'info' ? ['--log-level=info'] : [];
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
  /** Velero with velero-plugin-for-aws only: the time no KubeVirt plugin can go below. */
  baseline: Omit<SizeRun, 'verified'>;
  plugin: SizeRun;
}

interface PluginFigures {
  calls: number;
  callMs: number;
  apiRequests: number;
  processes: number;
  peakRssKiB: number;
  /** The resident set of the process with the highest peak, at its exit: file-backed / anonymous. */
  exitRssFileKiB: number;
  exitRssAnonKiB: number;
  cpuMs: number;
  /** Of cpuMs: system time, and the main thread's (the rest: V8's helper threads, libuv's pool). */
  cpuSystemMs: number;
  cpuMainThreadMs: number;
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

/** Our plugin's figures from a slice of the velero server log (the lines of one backup or restore). */
export function pluginFigures(log: string): PluginFigures {
  const figures: PluginFigures = { calls: 0, callMs: 0, apiRequests: 0, processes: 0, peakRssKiB: 0, exitRssFileKiB: 0, exitRssAnonKiB: 0, cpuMs: 0, cpuSystemMs: 0, cpuMainThreadMs: 0, byMethod: new Map() };
  for (const line of log.split('\n')) {
    // Velero tags a plugin's re-logged lines with the plugin binary (cmd=...); the AWS plugin's are not ours.
    if (!(field(line, 'cmd') ?? '').endsWith(PLUGIN_BINARY)) continue;
    const msg = field(line, 'msg') ?? '';
    if (msg === 'Kubernetes API requests made by this plugin process') {
      const total = Number(field(line, 'total'));
      if (!Number.isFinite(total)) throw new Error(`an API request count without total: ${line}`);
      figures.apiRequests += total;
    } else if (msg.startsWith('plugin process exiting')) {
      // Per method "Method=calls/ms,..." (src/host/unary.ts), at any log level.
      for (const entry of (field(line, 'calls') ?? '').split(',').filter((e) => e !== '')) {
        const m = /^(\S+)=(\d+)\/([\d.]+)$/.exec(entry);
        if (!m?.[1]) throw new Error(`an exit line with a malformed calls entry ${JSON.stringify(entry)}: ${line}`);
        const calls = Number(m[2]);
        const ms = Number(m[3]);
        figures.calls += calls;
        figures.callMs += ms;
        const method = figures.byMethod.get(m[1]) ?? { calls: 0, ms: 0 };
        method.calls += calls;
        method.ms += ms;
        figures.byMethod.set(m[1], method);
      }
      figures.processes += 1;
      const kib = Number(field(line, 'peakRssKiB'));
      if (Number.isFinite(kib) && kib >= figures.peakRssKiB) {
        figures.peakRssKiB = kib;
        figures.exitRssFileKiB = Number(field(line, 'rssFileKiB') ?? NaN);
        figures.exitRssAnonKiB = Number(field(line, 'rssAnonKiB') ?? NaN);
      }
      const cpu = Number(field(line, 'cpuMs'));
      if (Number.isFinite(cpu)) figures.cpuMs += cpu;
      // Exit lines before the split (or off Linux) lack these: they then add nothing.
      figures.cpuSystemMs += Number(field(line, 'cpuSystemMs') ?? 0) || 0;
      figures.cpuMainThreadMs += Number(field(line, 'cpuMainThreadMs') ?? 0) || 0;
    }
  }
  // Zero would read as "free": no lines means the log format or level changed, not that nothing ran.
  if (figures.calls === 0 || figures.processes === 0) {
    throw new Error(`no calls counted on the "plugin process exiting" lines of ${PLUGIN_BINARY} in the velero server log`);
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

// ---------- the API server's audit log ----------

/** Who made the requests of one operation, from the API server's audit log (JSON lines). */
export interface AuditCounts {
  /** Requests whose User-Agent names this plugin (src/kube/user-agent.ts), by verb. */
  plugin: number;
  pluginByVerb: Map<string, number>;
  /** Requests of the Velero server itself (User-Agent velero-server/...). */
  veleroServer: number;
  veleroServerByVerb: Map<string, number>;
}

export function auditCounts(lines: string): AuditCounts {
  const counts: AuditCounts = { plugin: 0, pluginByVerb: new Map(), veleroServer: 0, veleroServerByVerb: new Map() };
  for (const line of lines.split('\n')) {
    if (line.trim() === '') continue;
    const event = JSON.parse(line) as { userAgent?: string; verb?: string; stage?: string };
    if (event.stage !== 'ResponseComplete' && event.stage !== 'Panic') continue;
    const agent = event.userAgent ?? '';
    const verb = event.verb ?? '?';
    if (agent.startsWith(`${PLUGIN_BINARY}/`)) {
      counts.plugin += 1;
      counts.pluginByVerb.set(verb, (counts.pluginByVerb.get(verb) ?? 0) + 1);
    } else if (agent.startsWith('velero-server/') || agent.startsWith('velero/')) {
      counts.veleroServer += 1;
      counts.veleroServerByVerb.set(verb, (counts.veleroServerByVerb.get(verb) ?? 0) + 1);
    }
  }
  return counts;
}

class AuditLog {
  constructor(private readonly path: string | undefined) {}
  /** The current end of the log. */
  mark(): number {
    return this.path === undefined || !existsSync(this.path) ? 0 : statSync(this.path).size;
  }
  since(from: number): AuditCounts {
    if (this.path === undefined) throw new Error('the control plane was started without an audit log');
    const bytes = readFileSync(this.path);
    // Lines are written whole (blocking audit backend); cut at the last newline anyway.
    const text = bytes.subarray(from).toString('utf8');
    return auditCounts(text.slice(0, text.lastIndexOf('\n') + 1));
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


interface Operation {
  seconds: number;
  phase: string;
  /** CPU of the Velero server process itself during the operation (not its plugin processes). */
  veleroCpuMs: number;
  /** undefined in the baseline run (no plugin of ours loaded). */
  plugin?: PluginFigures;
  audit: AuditCounts;
}

interface SizeRun {
  backup: Operation;
  backupItems: number;
  restore: Operation;
  verified: string;
}

/**
 * CPU (ms) the Velero server process has used so far, its own threads only (its plugin processes are
 * its children and are not counted until they are reaped). Velero alone does the same work in every
 * run, so its CPU from one run to the next shows how fast the machine was at the time.
 */
function veleroServerCpuMs(velero: Velero): number {
  const server = velero.serverProcess();
  if (server === undefined) throw new Error('no velero server process');
  const cpu = cpuMsOfStat(`/proc/${server.pid}/stat`);
  if (cpu === undefined) throw new Error(`cannot read the CPU time of the velero server (pid ${server.pid})`);
  return cpu;
}

/** Backs `ns` up and restores it into `mapped` with this Velero; with our plugin its figures are read too. */
async function backupAndRestore(velero: Velero, audit: AuditLog, ns: string, mapped: string, withPlugin: boolean): Promise<Omit<SizeRun, 'verified'>> {
  const backupName = `${mapped}-b`;
  let from = velero.logs().length;
  let auditFrom = audit.mark();
  let cpuFrom = veleroServerCpuMs(velero);
  const backupSeconds = await timed(velero, ['backup', 'create', backupName, '--include-namespaces', ns, '--snapshot-volumes=false', '--wait']);
  const backupObject = await velero.waitForBackup(backupName);
  const backupVeleroCpuMs = veleroServerCpuMs(velero) - cpuFrom;
  const backupPlugin = withPlugin ? pluginFigures(await operationLog(velero, from)) : undefined;
  const backup: Operation = { seconds: backupSeconds, phase: phaseOf(backupObject), veleroCpuMs: backupVeleroCpuMs, audit: audit.since(auditFrom), ...(backupPlugin ? { plugin: backupPlugin } : {}) };
  const backupItems = ((backupObject['status'] ?? {}) as { progress?: { itemsBackedUp?: number } }).progress?.itemsBackedUp ?? 0;
  log(`${ns} ${withPlugin ? 'with our plugin' : 'baseline'}: backup ${backup.phase} in ${backupSeconds.toFixed(1)} s (${backupItems} items); restoring into ${mapped}`);

  const restoreName = `${mapped}-r`;
  from = velero.logs().length;
  auditFrom = audit.mark();
  cpuFrom = veleroServerCpuMs(velero);
  const restoreSeconds = await timed(velero, ['restore', 'create', restoreName, '--from-backup', backupName, '--namespace-mappings', `${ns}:${mapped}`, '--wait']);
  const restoreObject = await velero.waitForRestore(restoreName);
  const restoreVeleroCpuMs = veleroServerCpuMs(velero) - cpuFrom;
  const restorePlugin = withPlugin ? pluginFigures(await operationLog(velero, from)) : undefined;
  const restore: Operation = { seconds: restoreSeconds, phase: phaseOf(restoreObject), veleroCpuMs: restoreVeleroCpuMs, audit: audit.since(auditFrom), ...(restorePlugin ? { plugin: restorePlugin } : {}) };
  log(`${ns} ${withPlugin ? 'with our plugin' : 'baseline'}: restore ${restore.phase} in ${restoreSeconds.toFixed(1)} s`);
  // KVP_BENCH_LOG_DIR=DIR keeps each Velero server's log (for timelines: where the wall time went).
  const logDir = process.env['KVP_BENCH_LOG_DIR'];
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, `${mapped}.velero.log`), velero.logs());
  }
  if (backup.phase !== 'Completed' || restore.phase !== 'Completed') {
    const describe = await velero.velero(['restore', 'describe', restoreName, '--details']);
    throw new Error(`backup ${backup.phase}, restore ${restore.phase} (want Completed):\n${describe.stdout.slice(0, 4000)}`);
  }
  return { backup, backupItems, restore };
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

const ratio = (ours: number, velero: number): string => `${(ours / velero).toFixed(2)}x`;
const perVm = (n: number, vms: number, digits = 2): string => (n / vms).toFixed(digits);
const verbs = (m: Map<string, number>): string =>
  [...m.entries()].sort((x, y) => y[1] - x[1]).map(([verb, n]) => `${n} ${verb}`).join(', ') || 'none';

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what}`);
  return value;
}

function operationRows(op: 'backup' | 'restore'): [string, (f: Figures) => string][] {
  const ours = (f: Figures): Operation => f.plugin[op];
  const plugin = (f: Figures): PluginFigures => must(ours(f).plugin, `plugin figures of the ${op}`);
  return [
    [`${op} wall time, Velero alone (\`velero ${op} create --wait\`)`, (f) => `${f.baseline[op].seconds.toFixed(1)} s`],
    [`${op} wall time with our plugin`, (f) => `${ours(f).seconds.toFixed(1)} s (**${ratio(ours(f).seconds, f.baseline[op].seconds)}**)`],
    [`${op}: CPU time of the plugin processes`, (f) => `${(plugin(f).cpuMs / 1000).toFixed(2)} s (${perVm(plugin(f).cpuMs, f.vms)} ms/VM)`],
    [`${op}: of it, system time / the main thread's`, (f) => `${(plugin(f).cpuSystemMs / 1000).toFixed(2)} / ${(plugin(f).cpuMainThreadMs / 1000).toFixed(2)} s`],
    [`${op}: CPU time of the Velero server itself, alone / with our plugin (alone: the machine's speed at the time)`, (f) =>
      `${(f.baseline[op].veleroCpuMs / 1000).toFixed(2)} / ${(ours(f).veleroCpuMs / 1000).toFixed(2)} s`],
    [`${op}: time inside our plugin (sum of calls)`, (f) => `${(plugin(f).callMs / 1000).toFixed(2)} s in ${plugin(f).calls} calls: ${methods(plugin(f))}`],
    [`${op}: API requests of the plugin, audit log (own counter)`, (f) =>
      `${ours(f).audit.plugin} (${perVm(ours(f).audit.plugin, f.vms, 3)}/VM; ${verbs(ours(f).audit.pluginByVerb)}) (${plugin(f).apiRequests})`],
    [`${op}: API requests of the Velero server, alone / with our plugin`, (f) =>
      `${f.baseline[op].audit.veleroServer} / ${ours(f).audit.veleroServer} (${verbs(ours(f).audit.veleroServerByVerb)})`],
    [`${op}: peak RSS of a plugin process (VmHWM)`, (f) => `${(plugin(f).peakRssKiB / 1024).toFixed(1)} MiB (${processes(plugin(f).processes)})`],
    [`${op}: that process's RSS at exit, file-backed / anonymous`, (f) => `${(plugin(f).exitRssFileKiB / 1024).toFixed(1)} / ${(plugin(f).exitRssAnonKiB / 1024).toFixed(1)} MiB`],
  ];
}

function table(results: Figures[]): string {
  const rows: [string, (f: Figures) => string][] = [
    ['VMs created by the fixtures (6 API calls each)', (f) => `${f.createSeconds.toFixed(1)} s`],
    ['items backed up, Velero alone / with our plugin', (f) => `${f.baseline.backupItems} / ${f.plugin.backupItems}`],
    ...operationRows('backup'),
    ...operationRows('restore'),
    ['restored namespace checked', (f) => f.plugin.verified],
  ];
  const head = `| measure | ${results.map((r) => `${r.vms.toLocaleString('en-US')} VMs`).join(' | ')} |`;
  const sep = `| --- | ${results.map(() => '---').join(' | ')} |`;
  return [head, sep, ...rows.map(([name, get]) => `| ${name} | ${results.map(get).join(' | ')} |`)].join('\n');
}

/** The issue's targets, judged on the largest size of the run. */
function targets(f: Figures): string {
  const b = must(f.plugin.backup.plugin, 'backup figures');
  const r = must(f.plugin.restore.plugin, 'restore figures');
  const rows: [string, string, number, number, (n: number) => string][] = [
    ['backup wall time / Velero alone', '<= 2.0x', f.plugin.backup.seconds / f.baseline.backup.seconds, 2.0, (n) => `${n.toFixed(2)}x`],
    ['restore wall time / Velero alone', '<= 1.1x', f.plugin.restore.seconds / f.baseline.restore.seconds, 1.1, (n) => `${n.toFixed(2)}x`],
    ['plugin CPU per VM, backup', '<= 2 ms', b.cpuMs / f.vms, 2, (n) => `${n.toFixed(2)} ms`],
    ['plugin CPU per VM, restore', '<= 5 ms', r.cpuMs / f.vms, 5, (n) => `${n.toFixed(2)} ms`],
    ['plugin API requests per VM (audit log), backup', '<= 0.1', f.plugin.backup.audit.plugin / f.vms, 0.1, (n) => n.toFixed(3)],
    ['plugin API requests per VM (audit log), restore', '<= 2.2', f.plugin.restore.audit.plugin / f.vms, 2.2, (n) => n.toFixed(3)],
    ['plugin peak RSS', '<= 80 MB', Math.max(b.peakRssKiB, r.peakRssKiB) * 1024 / 1e6, 80, (n) => `${n.toFixed(1)} MB`],
  ];
  return [
    `| target (${f.vms.toLocaleString('en-US')} VMs) | wanted | measured | met |`,
    '| --- | --- | --- | --- |',
    ...rows.map(([name, want, got, limit, show]) => `| ${name} | ${want} | ${show(got)} | ${got <= limit ? 'yes' : '**no**'} |`),
  ].join('\n');
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

/**
 * Our plugin in a fresh plugin directory. With KVP_BENCH_CPU_PROF=DIR it is the profiling build
 * (bench/profiled-main.ts, built into dist-prof/) and every plugin process writes DIR/<pid>.cpuprofile
 * at exit: Node 20 refuses --cpu-prof in NODE_OPTIONS, and a single executable takes no flags.
 */
async function ourPluginDir(): Promise<{ pluginDir: string; env: Record<string, string> }> {
  const profileDir = process.env['KVP_BENCH_CPU_PROF'];
  if (!profileDir) return { pluginDir: await makePluginDir(), env: {} };
  mkdirSync(profileDir, { recursive: true });
  log(`building the profiling plugin into dist-prof/ (profiles go to ${profileDir})`);
  execFileSync(process.execPath, ['scripts/build.mjs', '--entry', 'bench/profiled-main.ts', '--outdir', 'dist-prof'], { cwd: repoDir, stdio: 'inherit' });
  const pluginDir = await makePluginDir({ ours: false });
  execFileSync(join(repoDir, 'dist-prof', PLUGIN_BINARY), ['install', pluginDir], { stdio: 'inherit' });
  return { pluginDir, env: { KVP_CPU_PROFILE_DIR: resolve(profileDir) } };
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg().map((l) => l.toFixed(1)).join(' ');
  log(`starting the control plane (sizes ${SIZES.join(', ')})`);
  const cp = await startControlPlane({ controllerManager: true, auditLog: true });
  const audit = new AuditLog(cp.auditLogPath);
  let velero: Velero | undefined;
  const results: Figures[] = [];
  try {
    await cp.kube.create(instancetype({ name: CLUSTER_IT, cpu: 2, memory: '2Gi' }));
    await cp.kube.create(preference({ name: CLUSTER_PREF }));
    const sizes: { vms: number; ns: string; createSeconds: number; original: Map<string, CreatedVm> }[] = [];
    for (const vms of SIZES) {
      const ns = `scale-${vms}`;
      const t0 = performance.now();
      const original = await populate(cp, ns, vms);
      sizes.push({ vms, ns, createSeconds: (performance.now() - t0) / 1000, original });
      log(`${vms} VMs created in namespace ${ns}`);
    }
    // The baseline first, then the same namespaces with our plugin, one Velero server at a time.
    const baselines: Omit<SizeRun, 'verified'>[] = [];
    velero = await startVelero(cp, { pluginDir: await makePluginDir({ ours: false }), extraArgs: VELERO_ARGS });
    for (const s of sizes) baselines.push(await backupAndRestore(velero, audit, s.ns, `${s.ns}-alone`, false));
    await velero.stop();
    velero = await startVelero(cp, { ...(await ourPluginDir()), extraArgs: VELERO_ARGS });
    for (const [i, s] of sizes.entries()) {
      const mapped = `${s.ns}-restored`;
      const run = await backupAndRestore(velero, audit, s.ns, mapped, true);
      const verified = await verify(cp, mapped, s.original);
      results.push({ vms: s.vms, createSeconds: s.createSeconds, baseline: must(baselines[i], 'baseline'), plugin: { ...run, verified } });
    }
  } finally {
    await velero?.stop();
    await cp.stop();
  }
  const loadAfter = loadavg().map((l) => l.toFixed(1)).join(' ');
  const largest = must(results.at(-1), 'results');
  const out = `${table(results)}\n\n${targets(largest)}`;
  process.stdout.write(`\n${out}\n`);
  const section =
    `${HEADING}\n\n` +
    `Run on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ` +
    `Node ${process.version}, load average (1/5/15 min) ${loadBefore} at start and ${loadAfter} at the end: ` +
    `\`${VELERO_LOG_LEVEL === 'info' ? 'KVP_BENCH_VELERO_LOG_LEVEL=info ' : ''}KVP_BENCH_SIZES=${SIZES.join(',')} npm run bench:e2e -- --record\`.\n` +
    `A real kube-apiserver (with an audit log) + kube-controller-manager and a real Velero v1.18 server (--log-level=${VELERO_LOG_LEVEL}). ` +
    `Each VM uses an instance type and a preference (cluster and namespaced kinds in turn, KubeVirt >= 1.5 status refs), ` +
    `two ControllerRevisions each. The same namespaces are first backed up and restored by Velero with only ` +
    `velero-plugin-for-aws (the baseline, "Velero alone"), then by a Velero server with our plugin too, in the same process; ` +
    `ratios are to the baseline. Restores go into a mapped namespace; after ours every VM is checked. ` +
    `API requests are counted from the API server's audit log by User-Agent (ours: \`kubevirt-velero-plugin/<version>\`, ` +
    `Velero's: \`velero-server/...\`), and by the plugin's own counter (in brackets); CPU, call times and VmHWM come ` +
    `from the plugin's own log lines in the Velero server log.\n\n` +
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
