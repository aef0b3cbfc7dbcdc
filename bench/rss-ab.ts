// `npm run bench:rss`: only the peak-RSS part of bench/host.ts (100k 16-way Execute calls of a ~20 KB
// VM), A/B between already built test binaries, rounds interleaved (A, B, A, B, ...) so that a loaded
// machine's changing load falls on each alike. Besides VmHWM it splits the resident set at the peak
// sample into the executable's file pages, the malloc heap and the other anonymous mappings (V8's
// heap and code spaces are anonymous mmaps), to show where memory goes; and it times 5,000
// sequential calls through the host emulator, so a memory win that costs latency shows.
//
//   KVP_RSS_BINARIES=a=dist-test/kubevirt-velero-plugin,b=/tmp/other/kubevirt-velero-plugin \
//   KVP_RSS_ROUNDS=3 npm run bench:rss
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { launch, TEST_BINARY } from '../test/host/emulator.ts';
import { echoBackupRequest, sequentialCallTimes } from './host.ts';

const binaries = (process.env['KVP_RSS_BINARIES'] ?? `pinned=${TEST_BINARY}`).split(',').map((entry) => {
  const [label, path] = entry.split('=');
  if (!label || !path) throw new Error(`KVP_RSS_BINARIES entry ${entry} is not label=path`);
  return { label, path };
});
const rounds = Number(process.env['KVP_RSS_ROUNDS'] ?? '3');

interface Breakdown {
  rss: number;
  executable: number;
  mallocHeap: number;
  otherAnonymous: number;
  otherFiles: number;
}

/** Resident KiB of a process by kind of mapping, from /proc/<pid>/smaps. */
function residentBreakdown(pid: number, executablePath: string): Breakdown {
  const result: Breakdown = { rss: 0, executable: 0, mallocHeap: 0, otherAnonymous: 0, otherFiles: 0 };
  let kind: keyof Breakdown = 'otherAnonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[1] ?? '';
      kind = name === '' || name.startsWith('[anon') || name === '[stack]' ? 'otherAnonymous'
        : name === '[heap]' ? 'mallocHeap'
        : name.endsWith(executablePath.split('/').pop()!) ? 'executable'
        : name.startsWith('[') ? 'otherAnonymous' : 'otherFiles';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      result[kind] += Number(rss[1]);
      result.rss += Number(rss[1]);
    }
  }
  return result;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(binary: string): Promise<Record<string, number>> {
  const plugin = await launch({ binary });
  const pid = plugin.process.pid!;
  const request = echoBackupRequest();
  const call = () => plugin.call('generated.BackupItemAction', 'Execute', request);
  for (let i = 0; i < 2000; i++) await call();
  const sequential = await sequentialCallTimes(call, 5000);

  let peakRss = 0;
  let atPeak = residentBreakdown(pid, binary);
  let done = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (done < 100_000) {
        done++;
        await call();
        if (done % 2000 === 0) {
          const now = plugin.rssKiB();
          if (now > peakRss) {
            peakRss = now;
            atPeak = residentBreakdown(pid, binary);
          }
        }
      }
    }),
  );
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  await plugin.shutdown();
  const mb = (kib: number) => +(kib / 1024).toFixed(1);
  return {
    'peak RSS MB (VmHWM)': mb(hwm),
    'at peak sample: RSS MB': mb(atPeak.rss),
    'at peak sample: executable file MB': mb(atPeak.executable),
    'at peak sample: malloc heap MB': mb(atPeak.mallocHeap),
    'at peak sample: other anonymous MB (V8 heap, code)': mb(atPeak.otherAnonymous),
    'at peak sample: other files MB': mb(atPeak.otherFiles),
    'sequential Execute p50 ms': +percentile(sequential, 50).toFixed(3),
    'sequential Execute p99 ms': +percentile(sequential, 99).toFixed(3),
  };
}

async function main(): Promise<void> {
  const all = new Map<string, Record<string, number>[]>(binaries.map((b) => [b.label, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const { label, path } of binaries) {
      const before = loadavg()[0]!.toFixed(1);
      const figures = await measure(path);
      all.get(label)!.push(figures);
      process.stdout.write(`round ${round} ${label} (load ${before} -> ${loadavg()[0]!.toFixed(1)}): ${JSON.stringify(figures)}\n`);
    }
  }
  const rows = Object.keys(all.get(binaries[0]!.label)![0]!);
  process.stdout.write(`\n| measure (median of ${rounds} rounds) | ${binaries.map((b) => b.label).join(' | ')} |\n`);
  process.stdout.write(`| --- | ${binaries.map(() => '---').join(' | ')} |\n`);
  for (const row of rows) {
    const cells = binaries.map(({ label }) => {
      const values = all.get(label)!.map((f) => f[row]!).sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)];
    });
    process.stdout.write(`| ${row} | ${cells.join(' | ')} |\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
