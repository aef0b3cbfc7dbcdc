// A Velero/go-plugin host emulator for the tests and the benchmark: launches the BUILT executable the
// way Velero does (environment, argument styles, stdio), reads the handshake, dials the socket and
// offers typed clients for every service. It imitates only the client side that we do not control;
// the plugin under test is the real binary.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { clientConstructor } from '../../src/host/protos.ts';

export const TEST_BINARY = new URL('../../dist-test/kubevirt-velero-plugin', import.meta.url).pathname;
export const PRODUCT_BINARY = new URL('../../dist/kubevirt-velero-plugin', import.meta.url).pathname;

export type ArgumentStyle = 'velero-1.15+' | 'velero-1.14';

export interface LaunchOptions {
  binary?: string;
  style?: ArgumentStyle;
  logLevel?: string;
  env?: Record<string, string>;
}

export interface HclogLine {
  '@message': string;
  '@level': 'trace' | 'debug' | 'info' | 'warn' | 'error';
  '@timestamp'?: string;
  [field: string]: unknown;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error']);
const GO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/**
 * go-plugin's rules for a stderr line: JSON with a string @message, a known @level, and an
 * @timestamp in Go's layout if present. Returns the reason a line would not be accepted as hclog.
 */
export function hclogViolation(line: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'not an object';
  const entry = parsed as Record<string, unknown>;
  if (typeof entry['@message'] !== 'string') return '@message is not a string';
  if (typeof entry['@level'] !== 'string' || !LEVELS.has(entry['@level'])) return `bad @level ${String(entry['@level'])}`;
  if (entry['@timestamp'] !== undefined && (typeof entry['@timestamp'] !== 'string' || !GO_TIMESTAMP.test(entry['@timestamp']))) {
    return `bad @timestamp ${String(entry['@timestamp'])}`;
  }
  return undefined;
}

type Unary = (request: unknown, callback: (err: grpc.ServiceError | null, response: unknown) => void) => void;

export class LaunchedPlugin {
  readonly stderrLines: string[] = [];
  stdoutAfterHandshake = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;
  private readonly clients = new Map<string, grpc.Client>();

  constructor(
    readonly process: ChildProcess,
    readonly command: string,
    readonly handshake: string,
    readonly socketPath: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (process.exitCode !== null) resolve(process.exitCode);
      process.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
    });
  }

  client(service: string): grpc.Client {
    let client = this.clients.get(service);
    if (!client) {
      const Ctor = clientConstructor(service);
      client = new Ctor(`unix:${this.socketPath}`, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': 2_147_483_647,
        'grpc.max_send_message_length': 2_147_483_647,
      });
      this.clients.set(service, client);
    }
    return client;
  }

  /** Calls a unary method; resolves with the response or rejects with the ServiceError. */
  call<T = Record<string, unknown>>(service: string, method: string, request: unknown): Promise<T> {
    const client = this.client(service) as unknown as Record<string, Unary>;
    const fn = client[method];
    if (!fn) throw new Error(`no method ${service}.${method}`);
    return new Promise((resolve, reject) => {
      fn.call(client, request, (err, response) => (err ? reject(err) : resolve(response as T)));
    });
  }

  logLines(): HclogLine[] {
    return this.stderrLines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as HclogLine);
  }

  rssKiB(): number {
    const status = readFileSync(`/proc/${this.process.pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) : NaN;
  }

  isAlive(): boolean {
    return this.exitCode === null && this.process.exitCode === null && existsSync(`/proc/${this.process.pid}`);
  }

  /** What Velero does when done: Shutdown, close the connection, then kill after 2 s. */
  async shutdown(): Promise<void> {
    if (this.isAlive()) {
      await this.call('plugin.GRPCController', 'Shutdown', {}).catch(() => undefined);
    }
    this.closeClients();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(timer);
  }

  closeClients(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

function veleroArgs(style: ArgumentStyle, logLevel: string): string[] {
  // >= 1.15 passes every `velero server` flag through verbatim; <= 1.14 passes --log-level <lvl> and
  // maybe --features <csv>.
  return style === 'velero-1.15+'
    ? [`--log-level=${logLevel}`, '--features=EnableCSI', '--uploader-type=kopia', '--default-volumes-to-fs-backup=false']
    : ['--log-level', logLevel, '--features', 'EnableCSI'];
}

/**
 * go-plugin's handshake line as Velero accepts it — `1|2|unix|<absolute socket path>|grpc|` (core
 * protocol 1, app protocol 2, protocol grpc, no certificate) — gives the socket path; else undefined.
 */
export function handshakeSocketPath(line: string): string | undefined {
  const parts = line.split('|');
  const valid =
    parts.length === 6 && parts[0] === '1' && parts[1] === '2' && parts[2] === 'unix' && parts[3]?.startsWith('/') && parts[4] === 'grpc' && parts[5] === '';
  return valid ? parts[3] : undefined;
}

export function launch(options: LaunchOptions = {}): Promise<LaunchedPlugin> {
  const command = options.binary ?? TEST_BINARY;
  const child = spawn(command, veleroArgs(options.style ?? 'velero-1.15+', options.logLevel ?? 'info'), {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      VELERO_PLUGIN: 'hello',
      PLUGIN_PROTOCOL_VERSIONS: '2',
      PLUGIN_MIN_PORT: '10000',
      PLUGIN_MAX_PORT: '25000',
      VELERO_NAMESPACE: 'velero',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return awaitHandshake(child, command);
}

/**
 * Reads the handshake line of a started plugin process and resolves with it connected-ready.
 * `hostPath` maps the socket path the plugin announced to where this process can dial it (the path
 * inside a chroot is below the root's directory). Fails on a bad line, on exit and after 60 s.
 */
export function awaitHandshake(
  child: ChildProcess,
  command: string,
  hostPath: (announced: string) => string = (announced) => announced,
): Promise<LaunchedPlugin> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let plugin: LaunchedPlugin | undefined;
    const stderrLines: string[] = [];
    let stderrRest = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no handshake within 60 s; stderr: ${stderrLines.join('\n')}`));
    }, 60_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const lines = (stderrRest + chunk).split('\n');
      stderrRest = lines.pop() ?? '';
      (plugin?.stderrLines ?? stderrLines).push(...lines);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (plugin) {
        plugin.stdoutAfterHandshake += chunk;
        return;
      }
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      const line = stdout.slice(0, newline);
      const socketPath = handshakeSocketPath(line);
      if (socketPath === undefined) {
        child.kill('SIGKILL');
        reject(new Error(`bad handshake line: ${JSON.stringify(line)}`));
        return;
      }
      plugin = new LaunchedPlugin(child, command, line, hostPath(socketPath));
      plugin.stderrLines.push(...stderrLines);
      plugin.stdoutAfterHandshake = stdout.slice(newline + 1);
      resolve(plugin);
    });
    child.on('exit', (code) => {
      if (!plugin) {
        clearTimeout(timer);
        reject(new Error(`plugin exited with ${code} before the handshake; stderr: ${stderrLines.join('\n')}`));
      }
    });
  });
}
