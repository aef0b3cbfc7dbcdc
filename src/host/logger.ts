// Logs as hclog-shaped JSON lines on stderr: go-plugin's host parses each line and Velero puts it into
// the backup/restore log. The shape is strict: `@message` must be a string (anything else crashes the
// Velero server), `@level` one of trace|debug|info|warn|error, `@timestamp` only in Go's
// 2006-01-02T15:04:05.000000Z07:00 form, other keys become fields. Field values are written as strings
// so Velero shows them as plain text.
import pino from 'pino';
import type { LogFields, Logger } from '../velero/actions.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** go-plugin reads lines with a 64 KiB buffer; keep every line well below it. */
const MAX_MESSAGE_CHARS = 16 * 1024;
const MAX_FIELD_CHARS = 2 * 1024;

/** Velero passes logrus level names; map them to hclog's. */
export function parseLogLevel(value: string | undefined): LogLevel {
  switch ((value ?? '').toLowerCase()) {
    case 'trace':
      return 'trace';
    case 'debug':
      return 'debug';
    case 'warn':
    case 'warning':
      return 'warn';
    case 'error':
    case 'fatal':
    case 'panic':
      return 'error';
    default:
      return 'info';
  }
}

/** Go's 2006-01-02T15:04:05.000000Z07:00 in UTC: microseconds, and `Z` for the zone. */
export function goTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length - max} more characters)`;
}

function stringFields(fields: LogFields | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fields) return out;
  for (const [key, value] of Object.entries(fields)) {
    // hclog reserves the @-keys; never let a field overwrite them.
    if (value === undefined || key.startsWith('@')) continue;
    out[key] = truncate(String(value), MAX_FIELD_CHARS);
  }
  return out;
}

class PinoLogger implements Logger {
  /**
   * `with()` is called for every request and most requests log one line or none: the bound fields are
   * kept as a plain object and merged into each line, instead of a pino child logger per request
   * (a child serialises its fields when made, whether or not anything is logged).
   */
  constructor(
    private readonly root: pino.Logger,
    private readonly fields: Record<string, string> = {},
  ) {}

  private line(fields: LogFields | undefined): Record<string, string> {
    return fields === undefined ? this.fields : { ...this.fields, ...stringFields(fields) };
  }

  trace(message: string, fields?: LogFields): void {
    if (this.root.isLevelEnabled('trace')) this.root.trace(this.line(fields), truncate(message, MAX_MESSAGE_CHARS));
  }
  debug(message: string, fields?: LogFields): void {
    if (this.root.isLevelEnabled('debug')) this.root.debug(this.line(fields), truncate(message, MAX_MESSAGE_CHARS));
  }
  info(message: string, fields?: LogFields): void {
    this.root.info(this.line(fields), truncate(message, MAX_MESSAGE_CHARS));
  }
  warn(message: string, fields?: LogFields): void {
    this.root.warn(this.line(fields), truncate(message, MAX_MESSAGE_CHARS));
  }
  error(message: string, fields?: LogFields): void {
    this.root.error(this.line(fields), truncate(message, MAX_MESSAGE_CHARS));
  }
  with(fields: LogFields): Logger {
    return new PinoLogger(this.root, { ...this.fields, ...stringFields(fields) });
  }
}

/** A logger writing hclog JSON lines to the given file descriptor (stderr by default). */
export function createLogger(level: LogLevel, fd = 2): Logger {
  const destination = pino.destination({ fd, sync: true });
  const instance = pino(
    {
      level,
      base: null,
      messageKey: '@message',
      timestamp: () => `,"@timestamp":"${goTimestamp(new Date())}"`,
      formatters: {
        level: (label: string) => ({ '@level': label === 'fatal' ? 'error' : label }),
      },
    },
    destination,
  );
  return new PinoLogger(instance);
}

/**
 * Reads `--log-level` in both Velero styles: `--log-level=debug` (>= 1.15) and `--log-level debug`.
 * Velero >= 1.15 hands its plugins its own server arguments, where the flag may appear more than once
 * (a chart's default and a user's extra argument): Go's flag parsing keeps the last, and so does this.
 */
export function logLevelFromArgs(args: readonly string[]): LogLevel {
  let level: LogLevel = 'info';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--log-level=')) level = parseLogLevel(arg.slice('--log-level='.length));
    else if (arg === '--log-level') level = parseLogLevel(args[i + 1]);
  }
  return level;
}

/** A logger that drops everything: for benchmarks and tests that do not look at logs. */
export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  with: () => silentLogger,
};
