// Runs the Go oracle (test/oracle/main.go, KubeVirt's own code) as a child process and exchanges
// JSON lines with it. One process serves a whole test file: cases are streamed in, answers come
// back in the same order.
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface OracleCase {
  id: string;
  vm: unknown;
  instancetype?: unknown;
  preference?: unknown;
}

export interface OracleConflict {
  path: string;
  message: string;
}

export interface OracleResult {
  ok: boolean;
  vm?: unknown;
  conflicts?: OracleConflict[];
  error?: string;
}

export interface OracleAnswer {
  id: string;
  apply: OracleResult;
  expand: OracleResult;
  admit: OracleResult;
}

/**
 * Builds the oracle (or finds it in the cache) and returns its path. Fails loudly, with the reason,
 * when it cannot: the differential test must never silently pass without KubeVirt's code. Async so
 * that a cold build (minutes) does not block the test worker's event loop.
 */
export async function oracleBinary(program: 'expand' | 'revisions' = 'expand'): Promise<string> {
  const fromEnv = process.env[program === 'expand' ? 'EXPAND_ORACLE_BIN' : 'REVISION_ORACLE_BIN'];
  if (fromEnv) return fromEnv;
  const out = await new Promise<string>((resolve, reject) => {
    execFile('bash', [join(here, 'build.sh'), program], { encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`cannot build the KubeVirt ${program} oracle (bash test/oracle/build.sh ${program}): ${err.message}\n${stderr.slice(-4000)}`));
      } else resolve(stdout);
    });
  });
  const lines = out.trim().split('\n');
  const bin = lines[lines.length - 1];
  if (!bin) throw new Error('test/oracle/build.sh printed no binary path');
  return bin;
}

/** Sends all lines to a fresh oracle process and returns its answers, one per line. */
export async function runOracle<T>(bin: string, lines: unknown[]): Promise<T[]> {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr += d;
  });
  const answers: T[] = [];
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
  const done = new Promise<void>((resolve, reject) => {
    rl.on('line', (line) => answers.push(JSON.parse(line) as T));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`oracle exited with ${String(code)}: ${stderr.slice(-4000)}`));
    });
  });
  // Write in chunks, respecting back-pressure, so large corpora do not sit in memory twice.
  for (const line of lines) {
    if (!child.stdin.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => child.stdin.once('drain', r));
  }
  child.stdin.end();
  await done;
  if (answers.length !== lines.length) throw new Error(`oracle answered ${answers.length} of ${lines.length} lines`);
  return answers;
}

/** The oracle's answers for expansion cases. */
export function expandWithOracle(bin: string, cases: OracleCase[]): Promise<OracleAnswer[]> {
  return runOracle<OracleAnswer>(bin, cases);
}

/** Round-trips VMs through KubeVirt's Go types (canonical quantities, empty fields dropped). */
export async function normalizeWithOracle(bin: string, vms: unknown[]): Promise<unknown[]> {
  const answers = await runOracle<{ id: string; vm: unknown }>(
    bin,
    vms.map((vm, i) => ({ id: String(i), normalize: vm })),
  );
  return answers.map((a) => a.vm);
}
