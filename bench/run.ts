// `npm run bench`: every benchmark of the project, printed as one table per area. Figures are
// measured on the machine it runs on; BENCHMARKS.md records a run with its date and machine.
import { cpus } from 'node:os';
import { benchBackup } from './backup.ts';
import { benchExpand } from './expand.ts';
import { benchHost } from './host.ts';

type Bench = () => Promise<Record<string, number | string>>;

const benches: [string, Bench][] = [
  ['plugin runtime (host)', benchHost],
  ['backup (1,000-VM namespace, real kube-apiserver)', benchBackup],
  ['expansion (one core)', benchExpand],
];

async function main(): Promise<void> {
  process.stdout.write(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}\n`);
  const only = process.argv[2];
  for (const [name, bench] of benches) {
    if (only && !name.includes(only)) continue;
    process.stdout.write(`\n## ${name}\n`);
    const results = await bench();
    for (const [key, value] of Object.entries(results)) process.stdout.write(`${key.padEnd(58)} ${value}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
