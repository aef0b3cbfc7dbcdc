// `npm run bench:runtimes`: the plugin-runtime benchmark (bench/host.ts) on the test binary built
// with each Node runtime, side by side, to choose the runtime that scripts/node-runtime.json pins.
// Rounds are interleaved (20, 24, 26, 20, 24, 26, ...) so that the machine's changing load falls on
// every runtime alike; each cell is the median of the rounds, the load average is printed per round.
// dist-test/ is rebuilt with the pinned runtime at the end.
//
//   KVP_BENCH_NODE_VERSIONS=20.20.2,24.22.3,26.12.1 KVP_BENCH_ROUNDS=2 npm run bench:runtimes
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pinnedRuntime } from '../scripts/node-runtime.mjs';
import { TEST_BINARY } from '../test/host/emulator.ts';
import { benchHost } from './host.ts';

const versions = (process.env['KVP_BENCH_NODE_VERSIONS'] ?? `20.20.2,${pinnedRuntime().version},26.12.1`).split(',');
const rounds = Number(process.env['KVP_BENCH_ROUNDS'] ?? '2');

/** The rows compared (bench/host.ts keys); the others are printed by `npm run bench`. */
const ROWS = [
  'handshake median ms (target <= 150)',
  "Velero's gRPC stub: sequential Execute p50 ms (target <= 0.3)",
  "Velero's gRPC stub: sequential Execute p99 ms (target <= 2)",
  "Velero's gRPC stub: 16-way calls per second",
  'host emulator (grpc-js): sequential Execute p50 ms',
  'inside the plugin: Execute p50 ms',
  'peak RSS MB over 100k calls (VmHWM, target <= 80)',
];

function buildTestBinary(version: string): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--test-plugin', '--node-version', version], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : +((sorted[mid - 1]! + sorted[mid]!) / 2).toFixed(3);
}

async function main(): Promise<void> {
  const results = new Map<string, Map<string, number[]>>(versions.map((v) => [v, new Map()]));
  const record = (version: string, row: string, value: number): void => {
    const rows = results.get(version)!;
    rows.set(row, [...(rows.get(row) ?? []), value]);
  };
  for (let round = 1; round <= rounds; round++) {
    for (const version of versions) {
      buildTestBinary(version);
      record(version, 'executable MB', +(statSync(TEST_BINARY).size / 1e6).toFixed(1));
      const load = loadavg()[0]!.toFixed(1);
      const figures = await benchHost();
      process.stdout.write(`round ${round}, Node ${version}, load average ${load} -> ${loadavg()[0]!.toFixed(1)}: ` +
        `${ROWS.map((r) => `${figures[r]}`).join(' | ')}\n`);
      for (const row of ROWS) {
        // The Velero-client rows are strings: "median (runs: min-max)".
        const value = Number.parseFloat(String(figures[row]));
        if (Number.isFinite(value)) record(version, row, value);
      }
    }
  }
  buildTestBinary(pinnedRuntime().version);
  process.stdout.write(`\n| measure (median of ${rounds} rounds) | ${versions.map((v) => `Node ${v}`).join(' | ')} |\n`);
  process.stdout.write(`| --- | ${versions.map(() => '---').join(' | ')} |\n`);
  for (const row of ['executable MB', ...ROWS]) {
    process.stdout.write(`| ${row} | ${versions.map((v) => median(results.get(v)!.get(row) ?? [NaN])).join(' | ')} |\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
