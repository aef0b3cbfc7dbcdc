// Where a restore's wall time went, from a Velero server log kept by `KVP_BENCH_LOG_DIR=DIR npm run
// bench:e2e`: for each resource, when Velero restored its first and its last item, and the tail from
// the last item to "restore completed" (for our plugin: the Progress sweep that re-owns revisions).
// Velero's timestamps have one-second resolution, so phases shorter than a few seconds are rough.
// Usage: node --import tsx bench/restore-phases.ts DIR/<namespace>.velero.log <restore name>
import { readFileSync } from 'node:fs';
import { field } from './logrus-line.ts';

const [file, restoreName] = process.argv.slice(2);
if (!file || !restoreName) throw new Error('usage: restore-phases.ts <velero server log> <restore name>');

const seconds = (line: string): number => Date.parse(field(line, 'time') ?? '') / 1000;
let started: number | undefined;
let completed: number | undefined;
let lastItem: number | undefined;
const byResource = new Map<string, { first: number; last: number; items: number }>();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (field(line, 'restore') !== `velero/${restoreName}`) continue;
  const msg = field(line, 'msg') ?? '';
  if (msg.startsWith('Starting restore of backup')) started = seconds(line);
  else if (msg === 'restore completed') completed = seconds(line);
  else if (/^Restored \d+ items/.test(msg)) {
    const resource = field(line, 'resource') ?? '?';
    const at = seconds(line);
    const phase = byResource.get(resource) ?? { first: at, last: at, items: 0 };
    phase.last = at;
    phase.items += 1;
    byResource.set(resource, phase);
    lastItem = at;
  }
}
if (started === undefined || completed === undefined || lastItem === undefined) {
  throw new Error(`no start, items or completion of restore ${restoreName} in ${file}`);
}
const t0 = started;
process.stdout.write(`restore ${restoreName}: ${(completed - t0).toFixed(0)} s in all\n`);
for (const [resource, p] of [...byResource.entries()].sort((a, b) => a[1].first - b[1].first)) {
  if (p.items < 10) continue;
  process.stdout.write(`  ${resource}: ${p.items} items, ${(p.first - t0).toFixed(0)} -> ${(p.last - t0).toFixed(0)} s (${(p.last - p.first).toFixed(0)} s)\n`);
}
process.stdout.write(`  after the last item until "restore completed": ${(completed - lastItem).toFixed(0)} s\n`);
