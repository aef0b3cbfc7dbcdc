// Errors as Velero expects them: a gRPC status whose `grpc-status-details-bin` trailer holds a
// google.rpc.Status with a generated.Stack detail (Velero prints the stack when it logs the error).
import * as grpc from '@grpc/grpc-js';
import { StackType, StatusType } from './protos.ts';

/** The one error class of the plugin: a message for the user, an optional cause. */
export class PluginError extends Error {
  override name = 'PluginError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isPluginError(value: unknown): value is PluginError {
  return value instanceof PluginError;
}

/**
 * JavaScript's equivalents of a Go panic: programming errors rather than failures the action
 * reported. Velero's Go framework maps a recovered panic to Aborted; we do the same for these.
 */
function isPanicLike(err: unknown): boolean {
  return (
    err instanceof TypeError ||
    err instanceof RangeError ||
    err instanceof ReferenceError ||
    err instanceof SyntaxError ||
    !(err instanceof Error)
  );
}

interface StackFrame {
  file: string;
  line: number;
  function: string;
}

/** Parses V8 stack lines ("    at fn (file:line:col)" or "    at file:line:col"). */
export function stackFramesOf(err: unknown): StackFrame[] {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  const frames: StackFrame[] = [];
  for (const line of stack.split('\n')) {
    const match = /^\s+at (?:(.*?) \()?(.*?):(\d+):\d+\)?$/.exec(line);
    if (!match) continue;
    frames.push({ function: match[1] ?? '', file: match[2] ?? '', line: Number(match[3]) });
  }
  return frames;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return `non-error thrown: ${JSON.stringify(err)}`;
  } catch {
    return 'non-error thrown';
  }
}

/** Turns anything thrown by an action (or the host) into the status error Velero understands. */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const code = isPanicLike(err) ? grpc.status.ABORTED : grpc.status.UNKNOWN;
  const message = isPanicLike(err) && err instanceof Error ? `${err.name}: ${messageOf(err)}` : messageOf(err);
  const stack = StackType.encode(StackType.create({ frames: stackFramesOf(err) })).finish();
  const status = StatusType.encode(
    StatusType.create({
      code,
      message,
      details: [{ type_url: 'type.googleapis.com/generated.Stack', value: stack }],
    }),
  ).finish();
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(status));
  return { code, details: message, metadata };
}
