// Child processes of the e2e environment (etcd, kube-apiserver, velero, the S3 store...). Each runs in
// its own process group so that stopping it also ends whatever it started (Velero starts one process
// per plugin binary), and its output goes to a log file that a failing test can show.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** The process's combined stdout/stderr so far. */
  log(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  args: string[];
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const running = new Set<Proc>();

export function startProcess(name: string, command: string, opts: StartOptions): Proc {
  const out = createWriteStream(opts.logPath, { flags: 'a' });
  const child: ChildProcess = spawn(command, opts.args, {
    // detached: a new process group, killed as a whole by stop().
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.on('error', (err) => {
      out.write(`\n[harness] failed to start ${command}: ${err.message}\n`);
      resolve(`spawn error: ${err.message}`);
    });
  });
  void exited.then(() => setTimeout(() => out.end(), 100));
  if (child.pid === undefined) {
    // spawn failures (ENOENT...) are reported through 'error'; keep a pid-less handle that says so.
  }
  const proc: Proc = {
    name,
    pid: child.pid ?? -1,
    logPath: opts.logPath,
    log: () => {
      try {
        return readFileSync(opts.logPath, 'utf8');
      } catch {
        return '';
      }
    },
    exited,
    stop: async (graceMs = 5_000) => {
      running.delete(proc);
      if (child.pid === undefined) return;
      if (child.exitCode !== null || child.signalCode !== null) {
        killGroup(child.pid, 'SIGKILL'); // leftovers of the group (plugin processes)
        return;
      }
      killGroup(child.pid, 'SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      killGroup(child.pid, 'SIGKILL');
      if (!done) await Promise.race([exited, sleep(5_000)]);
    },
  };
  running.add(proc);
  return proc;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

// A test runner stopped mid-test must not leave API servers behind: kill every group we started, at
// exit and on the usual termination signals (then re-raise the signal, keeping its default effect).
function killAll(): void {
  for (const p of running) if (p.pid > 0) killGroup(p.pid, 'SIGKILL');
}
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = (): void => {
    killAll();
    process.removeListener(sig, onSignal);
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on(sig, onSignal);
}

/** A currently free TCP port on 127.0.0.1 (the OS picks it; we release it just before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/**
 * Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with an error
 * naming what we waited for (and the last error seen), so a failing test says what did not come up.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; proc?: Proc },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (opts.proc !== undefined) {
      const code = await Promise.race([opts.proc.exited, sleep(0).then(() => undefined)]);
      if (code !== undefined) {
        throw new Error(`${what}: ${opts.proc.name} exited (${code}) before it was ready; log ${opts.proc.logPath}:\n${tail(opts.proc.log())}`);
      }
    }
    if (Date.now() > deadline) {
      const logs = opts.proc === undefined ? '' : `\nlog ${opts.proc.logPath}:\n${tail(opts.proc.log())}`;
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}${logs}`);
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Runs a command to completion (with a timeout) and returns its output; never throws on exit code. */
export async function run(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string },
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out after ${opts.timeoutMs} ms\nstdout: ${tail(stdout)}\nstderr: ${tail(stderr)}`));
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? -1 });
    });
  });
}

/**
 * A machine-wide exclusive lock (flock(1) on a file in the temp dir), held until release() or until
 * this process dies (the lock holder is a child reading our stdin pipe). For resources no flag can
 * move, such as the fixed port Velero's controller manager serves metrics on.
 */
export async function machineLock(name: string, timeoutMs: number): Promise<{ release(): void }> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`invalid lock name ${name}`);
  const path = `/tmp/kvp-e2e-${name}.lock`;
  const holder = spawn('flock', ['--exclusive', '--timeout', String(Math.ceil(timeoutMs / 1000)), path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const release = (): void => {
    holder.stdin?.end();
    holder.kill('SIGTERM');
  };
  const locked = await new Promise<boolean>((resolve) => {
    let out = '';
    holder.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('locked')) resolve(true);
    });
    holder.on('exit', () => resolve(false));
    holder.on('error', () => resolve(false));
  });
  if (!locked) {
    release();
    throw new Error(`could not take the machine-wide lock ${path} within ${timeoutMs} ms (another e2e run holds it?)`);
  }
  return { release };
}

/** True when something accepts TCP connections on host:port. */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const sock = connect({ port, host });
    sock.setTimeout(1_000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}
