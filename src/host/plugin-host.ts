// The go-plugin server side, as Velero's Go framework would run it: one gRPC server on a unique unix
// socket, the handshake line on stdout once it is bound, Velero's services routed by plugin name,
// go-plugin's controller/stdio/broker and the health service, and a prompt, clean exit on Shutdown.
import { cpuMsOfStat } from '../shared/proc-stat.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ActionKind, Logger } from '../velero/actions.ts';
import { messageOf } from './errors.ts';
import { brokerService, controllerService, healthService, stdioService } from './go-plugin-services.ts';
import { backupItemActionService, itemBlockActionService, restoreItemActionService } from './item-action-services.ts';
import { createLogger, logLevelFromArgs } from './logger.ts';
import { Services } from './protos.ts';
import { type ActionFactory, PluginRegistry } from './registry.ts';
import { callTotalsText, unary } from './unary.ts';
import { kindsUnknownToLauncher } from './velero-version.ts';

/** go-plugin's core protocol version and the application protocol version Velero speaks. */
const CORE_PROTOCOL_VERSION = 1;
const APP_PROTOCOL_VERSION = 2;
/** Velero's client allows MaxInt32 both ways; restore requests carry three JSON documents. */
const MAX_MESSAGE_BYTES = 2_147_483_647;
/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
/** After Shutdown, in-flight calls get this long to finish before the server is closed hard. */
const SHUTDOWN_GRACE_MS = 200;

export interface ServeOptions {
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Where the handshake line goes (stdout). */
  writeHandshake: (line: string) => void;
  /** Defaults to an hclog logger on stderr at the level from --log-level. */
  log?: Logger;
}

export class PluginHost {
  private readonly registry = new PluginRegistry();
  private readonly exitReports: ((log: Logger) => void)[] = [];

  /** Something to log when the process ends (e.g. API request counts), at Shutdown or SIGTERM. */
  reportOnExit(report: (log: Logger) => void): this {
    this.exitReports.push(report);
    return this;
  }

  backupItemAction(name: string, factory: ActionFactory<'BackupItemAction'>): this {
    return this.add('BackupItemAction', name, factory);
  }
  backupItemActionV2(name: string, factory: ActionFactory<'BackupItemActionV2'>): this {
    return this.add('BackupItemActionV2', name, factory);
  }
  restoreItemAction(name: string, factory: ActionFactory<'RestoreItemAction'>): this {
    return this.add('RestoreItemAction', name, factory);
  }
  restoreItemActionV2(name: string, factory: ActionFactory<'RestoreItemActionV2'>): this {
    return this.add('RestoreItemActionV2', name, factory);
  }
  /** Velero >= 1.15 only; never listed to an older Velero (see velero-version.ts). */
  itemBlockAction(name: string, factory: ActionFactory<'ItemBlockAction'>): this {
    return this.add('ItemBlockAction', name, factory);
  }

  private add<K extends ActionKind>(kind: K, name: string, factory: ActionFactory<K>): this {
    this.registry.register(kind, name, factory);
    return this;
  }

  plugins(): { kind: ActionKind; name: string }[] {
    return this.registry.list();
  }

  /** Serves until Shutdown or SIGTERM, then exits the process. */
  async serve(options: ServeOptions): Promise<void> {
    const log = options.log ?? createLogger(logLevelFromArgs(options.args));
    const command = launchedCommand();
    const socketPath = uniqueSocketPath(options.env);
    const openStreams = new Set<{ end(): void }>();
    const streams = { track: (s: { end(): void }) => openStreams.add(s) };

    const server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // Channelz (gRPC's introspection service) is never served here; turned off, grpc-js skips its
      // per-call bookkeeping.
      'grpc.enable_channelz': 0,
    });

    let shuttingDown = false;
    const shutdown = (reason: string): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      const status = readProcessStatus();
      // At info: one line per plugin process, so what it cost (memory, CPU, calls) shows at Velero's
      // default log level too (bench:e2e reads it there).
      log.info(`plugin process exiting: ${reason}`, {
        calls: callTotalsText(),
        peakRssKiB: status['VmHWM'],
        // The resident set at exit, split: file-backed pages (mostly the executable's own) are a floor no
        // code of ours moves; anonymous memory is the heap and buffers (benchmarks read both).
        rssFileKiB: status['RssFile'],
        rssAnonKiB: status['RssAnon'],
        ...cpuFigures(),
      });
      for (const report of this.exitReports) {
        try {
          report(log);
        } catch {
          // a report must never keep the process from exiting
        }
      }
      for (const stream of openStreams) {
        try {
          stream.end();
        } catch {
          // a stream that is already gone needs no ending
        }
      }
      const exit = (): void => {
        removeSocket(socketPath);
        process.exit(0);
      };
      const hard = setTimeout(() => {
        server.forceShutdown();
        exit();
      }, SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(hard);
        exit();
      });
    };

    const notListed = kindsNotListed(options.args, options.env);
    const listed = this.registry.list().filter(({ kind }) => !notListed.has(kind));
    const withheld = this.registry.list().filter(({ kind }) => notListed.has(kind));
    server.addService(Services.pluginLister, {
      ListPlugins: unary(log, 'PluginLister.ListPlugins', () => {
        if (withheld.length > 0) {
          log.debug('not listing plugins of kinds this Velero does not know (<= 1.14, told by its plugin arguments) or a test build withholds', {
            withheld: withheld.map(({ kind, name }) => `${kind} ${name}`).join(', '),
          });
        }
        return { plugins: listed.map(({ kind, name }) => ({ command, kind, name })) };
      }),
    });
    server.addService(Services.backupItemActionV1, backupItemActionService(this.registry, log, 1));
    server.addService(Services.backupItemActionV2, backupItemActionService(this.registry, log, 2));
    server.addService(Services.restoreItemActionV1, restoreItemActionService(this.registry, log, 1));
    server.addService(Services.restoreItemActionV2, restoreItemActionService(this.registry, log, 2));
    server.addService(Services.itemBlockActionV1, itemBlockActionService(this.registry, log));
    server.addService(Services.controller, controllerService(log, () => shutdown('Shutdown requested')));
    server.addService(Services.stdio, stdioService(streams));
    server.addService(Services.broker, brokerService(streams));
    server.addService(Services.health, healthService(log, streams));

    installProcessGuards(log, () => shutdown('SIGTERM'), socketPath);

    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      );
    });
    options.writeHandshake(`${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|unix|${socketPath}|grpc|\n`);
    log.debug('plugin serving', { socket: socketPath, plugins: this.registry.list().length });
  }
}

/**
 * The kinds ListPlugins leaves out: those the launching Velero does not know (velero-version.ts). Test
 * builds only (the product ignores both variables): KVP_TEST_LIST_UNKNOWN_KINDS=1 lists them anyway,
 * to show what an old Velero does with them; KVP_TEST_WITHHOLD_KINDS=<Kind,...> leaves those kinds
 * out, to show what Velero does without them.
 */
function kindsNotListed(args: readonly string[], env: NodeJS.ProcessEnv): Set<ActionKind> {
  const notListed = new Set(kindsUnknownToLauncher(args));
  if (globalThis.__KVP_TEST_BUILD__ === true) {
    if (env['KVP_TEST_LIST_UNKNOWN_KINDS'] === '1') notListed.clear();
    for (const kind of (env['KVP_TEST_WITHHOLD_KINDS'] ?? '').split(',')) if (kind !== '') notListed.add(kind as ActionKind);
  }
  return notListed;
}

/** The path Velero launched: it stores it and executes it again for every backup and restore. */
function launchedCommand(): string {
  const argv0 = process.argv0;
  if (argv0.includes('/')) return path.resolve(argv0);
  return process.execPath;
}

function uniqueSocketPath(env: NodeJS.ProcessEnv): string {
  const name = `plugin${randomBytes(8).toString('hex')}`;
  const preferred = path.join(env['PLUGIN_UNIX_SOCKET_DIR'] || tmpdir(), name);
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH_BYTES) return preferred;
  const fallback = path.join(tmpdir(), name);
  if (Buffer.byteLength(fallback) <= MAX_SOCKET_PATH_BYTES) return fallback;
  throw new Error(`no socket path shorter than ${MAX_SOCKET_PATH_BYTES} bytes: ${preferred}`);
}

/** /proc/self/status as numbers (kB values), for the exit report; empty where /proc is missing. */
function readProcessStatus(): Record<string, number> {
  const status: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
      const match = /^(\w+):\s+(\d+)/.exec(line);
      if (match?.[1] && match[2]) status[match[1]] = Number(match[2]);
    }
  } catch {
    // not Linux: no figures
  }
  return status;
}

/**
 * The process's CPU: in all, split into user and system time, and the main thread's share (the rest is
 * V8's helper threads - concurrent garbage collection, compilation - and libuv's pool).
 */
function cpuFigures(): Record<string, number> {
  const usage = process.cpuUsage();
  const figures: Record<string, number> = {
    cpuMs: Math.round((usage.user + usage.system) / 1000),
    cpuUserMs: Math.round(usage.user / 1000),
    cpuSystemMs: Math.round(usage.system / 1000),
  };
  // The main thread's own stat (its thread id is the process id).
  const mainThread = cpuMsOfStat(`/proc/self/task/${process.pid}/stat`);
  if (mainThread !== undefined) figures['cpuMainThreadMs'] = mainThread;
  return figures;
}

function removeSocket(socketPath: string): void {
  try {
    if (existsSync(socketPath)) unlinkSync(socketPath);
  } catch {
    // nothing more to do on the way out
  }
}

/**
 * Like a Go plugin: SIGINT is ignored (the terminal's Ctrl-C goes to Velero, which shuts plugins down
 * itself), SIGTERM ends cleanly, and nothing thrown outside a call takes the process down.
 */
function installProcessGuards(log: Logger, onTerm: () => void, socketPath: string): void {
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', onTerm);
  process.on('exit', () => removeSocket(socketPath));
  process.on('uncaughtException', (err) => log.error(`uncaught exception: ${messageOf(err)}`));
  process.on('unhandledRejection', (err) => log.error(`unhandled rejection: ${messageOf(err)}`));
  // Anything a dependency prints must never reach stdout, which belongs to the handshake.
  /* eslint-disable no-console -- redirecting console is the point here */
  console.log = (...parts: unknown[]) => log.info(parts.map(String).join(' '));
  console.info = console.log;
  console.debug = (...parts: unknown[]) => log.debug(parts.map(String).join(' '));
  console.warn = (...parts: unknown[]) => log.warn(parts.map(String).join(' '));
  console.error = (...parts: unknown[]) => log.error(parts.map(String).join(' '));
  /* eslint-enable no-console */
}
