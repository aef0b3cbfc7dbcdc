// Every unary handler goes through here: an exception or rejected promise in an action becomes a
// gRPC error for that call only, never a crash of the process (which would fail Velero's whole
// backup or restore, or abort its start-up).
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../velero/actions.ts';
import { messageOf, toServiceError } from './errors.ts';

/** Calls served by this process, per method ("BackupItemAction.Execute"): count and summed milliseconds. */
const callTotals = new Map<string, { calls: number; ms: number }>();

/** The per-method totals, for the line the process logs when it exits: "Method=calls/ms,...". */
export function callTotalsText(): string {
  return [...callTotals.entries()].map(([method, t]) => `${method}=${t.calls}/${t.ms.toFixed(1)}`).join(',');
}

export function unary<Req, Res>(
  log: Logger,
  method: string,
  handler: (request: Req) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const finish = (err: unknown, response?: Res): void => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const total = callTotals.get(method) ?? { calls: 0, ms: 0 };
      total.calls += 1;
      total.ms += durationMs;
      callTotals.set(method, total);
      if (err === undefined) {
        // At trace, not debug: with Velero at debug (its plugins get the server's --log-level), a line
        // per call was a tenth of the plugin's CPU at 1,000 VMs. Velero logs each call itself
        // ("Executing item action ..."), and the exit line sums the calls per method.
        log.trace(`${method} done`, { method, durationMs: durationMs.toFixed(3) });
        callback(null, response);
      } else {
        // Velero logs the returned error itself at error level and counts error lines in the backup's
        // or restore's status: a second error line of ours would count the same failure twice.
        log.debug(`${method} failed: ${messageOf(err)}`, { method, durationMs: durationMs.toFixed(3) });
        callback(toServiceError(err));
      }
    };
    try {
      Promise.resolve(handler(call.request)).then(
        (response) => finish(undefined, response),
        (err: unknown) => finish(err ?? new Error('rejected without a reason')),
      );
    } catch (err) {
      finish(err ?? new Error('thrown without a reason'));
    }
  };
}
