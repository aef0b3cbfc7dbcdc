// Start-up cost of packaged binaries, for packaging decisions (code cache, stripping, bundle size):
// wall time from exec to the handshake line, and the CPU time the process used until then (all its
// threads, from /proc/<pid>/task/*/schedstat), which is far less sensitive to a busy machine.
// Usage: node --import tsx test/packaging/measure-startup.ts [--runs N] BINARY...
// (Not a test; `npm run bench` reports the handshake time of the real binaries.)
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
  }
  return ns / 1e6;
}

function once(binary: string): Promise<{ wallMs: number; cpuMs: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(binary, [], { env: { VELERO_PLUGIN: 'hello' }, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.once('data', () => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const cpu = cpuMs(child.pid!);
      child.on('exit', () => resolve({ wallMs, cpuMs: cpu }));
      child.kill('SIGKILL');
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

const args = process.argv.slice(2);
let runs = 30;
if (args[0] === '--runs') {
  runs = Number(args[1]);
  args.splice(0, 2);
}
if (args.length === 0 || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: node --import tsx test/packaging/measure-startup.ts [--runs N] BINARY...\n');
  process.exit(2);
}
const results = new Map(args.map((b) => [b, { wall: [] as number[], cpu: [] as number[] }]));
// Interleaved, so that a change in machine load hits every binary alike.
for (let i = 0; i < runs; i++) {
  for (const [binary, r] of results) {
    const { wallMs, cpuMs: cpu } = await once(binary);
    r.wall.push(wallMs);
    r.cpu.push(cpu);
  }
}
for (const [binary, r] of results) {
  process.stdout.write(
    `${binary}: exec-to-handshake median ${median(r.wall).toFixed(1)} ms (min ${Math.min(...r.wall).toFixed(1)}), ` +
      `CPU until handshake median ${median(r.cpu).toFixed(1)} ms, ${runs} runs\n`,
  );
}
