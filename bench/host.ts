// Runtime benchmark: exec-to-handshake, pass-through Execute latency for a ~20 KB VirtualMachine
// (sequential and 16-way concurrent), calls per second, peak RSS and RSS growth over 100k calls.
// Targets (issue 2): handshake <= 150 ms median, Execute p50 <= 0.3 ms, p99 <= 2 ms, RSS <= 80 MB, no growth.
//
// The round trip is measured with three clients, because on a 2-core machine the client's own work
// competes with the plugin for the CPU:
//   - Velero's gRPC stub (the target rows): the plugin started by go-plugin with Velero's handshake and
//     called through Velero's generated Go stub on go-plugin's connection, the item's JSON bytes
//     encoded once. The transport Velero uses, without Velero's own JSON work on the item.
//   - Velero's clientmgmt: the whole client path of the Velero server, JSON encoding included.
//   - the host emulator (grpc-js in Node): our test client; heavier than the plugin's side.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binary, isBuilt } from '../e2e/harness/components.ts';
import { stringifyJson } from '../src/shared/json.ts';
import { launch, TEST_BINARY } from '../test/host/emulator.ts';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** A VirtualMachine of about 20 KB: many disks, interfaces, and a long cloud-init user data. */
export function twentyKilobyteVm(): object {
  const disks = Array.from({ length: 40 }, (_, i) => ({ name: `disk${i}`, disk: { bus: 'virtio' }, bootOrder: i + 1 }));
  const volumes = Array.from({ length: 40 }, (_, i) => ({ name: `disk${i}`, dataVolume: { name: `vm-bench-disk-${i}` } }));
  const vm = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: 'vm-bench',
      namespace: 'bench',
      uid: '6f2a4c1e-0d5b-4f7e-9a3c-2b1d0e9f8a7c',
      generation: 4,
      labels: { app: 'bench', 'kubevirt.io/os': 'fedora' },
      annotations: { 'kubevirt.io/latest-observed-api-version': 'v1' },
    },
    spec: {
      runStrategy: 'Always',
      instancetype: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.medium', revisionName: 'vm-bench-u1.medium-v1beta1-abc-1' },
      preference: { kind: 'VirtualMachineClusterPreference', name: 'fedora', revisionName: 'vm-bench-fedora-v1beta1-def-1' },
      template: {
        metadata: { labels: { 'kubevirt.io/domain': 'vm-bench' } },
        spec: {
          domain: { devices: { disks, interfaces: [{ name: 'default', masquerade: {} }] } },
          networks: [{ name: 'default', pod: {} }],
          volumes: [
            ...volumes,
            { name: 'cloudinit', cloudInitNoCloud: { userData: `#cloud-config\n${'packages:\n  - a-package-name\n'.repeat(480)}` } },
          ],
        },
      },
    },
  };
  return vm;
}

/** The Execute request every runtime benchmark sends: the ~20 KB VM to the test plugin's echo action. */
export function echoBackupRequest(): { plugin: string; item: Buffer; backup: Buffer } {
  return {
    plugin: 'test.kubevirt.io/echo-backup',
    item: Buffer.from(stringifyJson(twentyKilobyteVm())),
    backup: Buffer.from(stringifyJson({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'bench', uid: 'u' } })),
  };
}

/** Milliseconds of `count` calls made one after another, sorted. */
export async function sequentialCallTimes(call: () => Promise<unknown>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

interface VeleroClientBench {
  sequentialP50Ms: number;
  sequentialP99Ms: number;
  concurrentP50Ms: number;
  concurrentP99Ms: number;
  concurrentCallsPerSecond: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * Runs `conformance bench` (e2e/conformance/bench.go, built against the pinned Velero) `runs` times
 * on the test binary installed into a fresh plugin directory, and reports the median of the runs
 * with their range: a single run on a shared 2-core machine moves with whatever else runs.
 */
function benchThroughVelero(client: 'stub' | 'velero', runs: number): Record<string, number | string> {
  const label = client === 'stub' ? "Velero's gRPC stub" : "Velero's clientmgmt (JSON included)";
  if (!isBuilt('conformance')) return { [label]: 'not measured: run `npm run e2e:build` (builds e2e/conformance)' };
  const dir = mkdtempSync(join(tmpdir(), 'kvp-bench-'));
  try {
    const pluginDir = join(dir, 'plugins');
    mkdirSync(pluginDir);
    execFileSync(TEST_BINARY, ['install', pluginDir], { stdio: 'ignore' });
    const itemFile = join(dir, 'vm.json');
    writeFileSync(itemFile, stringifyJson(twentyKilobyteVm()));
    const measured: VeleroClientBench[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(
        binary('conformance'),
        ['bench', `--plugin-dir=${pluginDir}`, '--plugin=test.kubevirt.io/echo-backup', `--item=${itemFile}`,
          '--calls=5000', '--concurrency=16', `--client=${client}`],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      measured.push(JSON.parse(out) as VeleroClientBench);
    }
    const row = (key: keyof VeleroClientBench, digits: number): string => {
      const values = measured.map((m) => m[key]);
      const range = `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
      return `${median(values).toFixed(digits)} (runs: ${range})`;
    };
    const target = client === 'stub';
    return {
      [`${label}: sequential Execute p50 ms${target ? ' (target <= 0.3)' : ''}`]: row('sequentialP50Ms', 3),
      [`${label}: sequential Execute p99 ms${target ? ' (target <= 2)' : ''}`]: row('sequentialP99Ms', 3),
      [`${label}: 16-way Execute p50 ms`]: row('concurrentP50Ms', 3),
      [`${label}: 16-way Execute p99 ms`]: row('concurrentP99Ms', 3),
      [`${label}: 16-way calls per second`]: row('concurrentCallsPerSecond', 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchHost(): Promise<Record<string, number | string>> {
  const results: Record<string, number | string> = {};

  const handshakes: number[] = [];
  for (let i = 0; i < 15; i++) {
    const started = performance.now();
    const plugin = await launch();
    handshakes.push(performance.now() - started);
    await plugin.shutdown();
  }
  handshakes.sort((a, b) => a - b);
  results['handshake median ms (target <= 150)'] = +percentile(handshakes, 50).toFixed(1);
  results['handshake p90 ms'] = +percentile(handshakes, 90).toFixed(1);

  // Median of 3 runs of 5,000 sequential and 5,000 16-way calls each, after 2,500 warm-up calls.
  Object.assign(results, benchThroughVelero('stub', 3), benchThroughVelero('velero', 3));

  const plugin = await launch();
  const request = echoBackupRequest();
  results['item bytes'] = request.item.length;
  const call = () => plugin.call('generated.BackupItemAction', 'Execute', request);

  for (let i = 0; i < 2000; i++) await call(); // warm up the JIT on both sides

  const sequential = await sequentialCallTimes(call, 5000);
  results['host emulator (grpc-js): sequential Execute p50 ms'] = +percentile(sequential, 50).toFixed(3);
  results['host emulator (grpc-js): sequential Execute p99 ms'] = +percentile(sequential, 99).toFixed(3);

  const concurrent: number[] = [];
  const perWorker = 1000;
  const startedAll = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < perWorker; i++) {
        const t = performance.now();
        await call();
        concurrent.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - startedAll) / 1000;
  concurrent.sort((a, b) => a - b);
  results['host emulator (grpc-js): 16-way Execute p50 ms'] = +percentile(concurrent, 50).toFixed(3);
  results['host emulator (grpc-js): 16-way Execute p99 ms'] = +percentile(concurrent, 99).toFixed(3);
  results['host emulator (grpc-js): 16-way calls per second'] = Math.round((16 * perWorker) / elapsed);

  // RSS over 100k calls, 16 at a time; sampled every 10k calls.
  const samples: number[] = [];
  let peak = plugin.rssKiB();
  const total = 100_000;
  let done = 0;
  const rssAt10k: number[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (done < total) {
        done++;
        await call();
        if (done % 1000 === 0) {
          const rss = plugin.rssKiB();
          peak = Math.max(peak, rss);
          samples.push(rss);
          if (done % 10_000 === 0) rssAt10k.push(rss);
        }
      }
    }),
  );
  const peakStatus = readFileSync(`/proc/${plugin.process.pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(peakStatus)?.[1] ?? NaN);
  results['peak RSS MB over 100k calls (VmHWM, target <= 80)'] = +(hwm / 1024).toFixed(1);
  results['RSS MB after 10k calls'] = +((rssAt10k[0] ?? NaN) / 1024).toFixed(1);
  results['RSS MB after 100k calls'] = +((rssAt10k[rssAt10k.length - 1] ?? NaN) / 1024).toFixed(1);
  // RssFile is the executable's own mapped pages (clean, shared, reclaimable); RssAnon is the heap.
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(peakStatus)?.[1] ?? NaN);
  results['RSS MB after 100k calls: anonymous (heap, buffers)'] = +(kib('RssAnon') / 1024).toFixed(1);
  results['RSS MB after 100k calls: file-backed (the executable)'] = +(kib('RssFile') / 1024).toFixed(1);
  results['RSS growth MB from 10k to 100k calls'] = +(((rssAt10k[rssAt10k.length - 1] ?? NaN) - (rssAt10k[0] ?? NaN)) / 1024).toFixed(1);
  await plugin.shutdown();

  // The same calls seen from inside the plugin: its own per-call timing lines (trace level), from the
  // request decoded to the answer handed to gRPC. What is left of a round trip is gRPC and the client.
  const timed = await launch({ logLevel: 'trace' });
  const timedCall = () => timed.call('generated.BackupItemAction', 'Execute', request);
  for (let i = 0; i < 2000; i++) await timedCall();
  const skip = timed.stderrLines.length;
  for (let i = 0; i < 5000; i++) await timedCall();
  await timed.shutdown();
  const inside = timed.stderrLines
    .slice(skip)
    .filter((l) => l.includes('"BackupItemAction.Execute done"'))
    .map((l) => Number((JSON.parse(l) as { durationMs?: string }).durationMs))
    .sort((a, b) => a - b);
  results['inside the plugin: Execute p50 ms'] = +percentile(inside, 50).toFixed(3);
  results['inside the plugin: Execute p99 ms'] = +percentile(inside, 99).toFixed(3);
  return results;
}
