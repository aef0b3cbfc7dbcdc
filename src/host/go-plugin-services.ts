// go-plugin's own services and the standard health service. Velero calls Shutdown when it is done with
// the process (otherwise it waits 2 s and kills it), opens the stdio stream, and may open the broker.
import type * as grpc from '@grpc/grpc-js';
import * as grpcJs from '@grpc/grpc-js';
import type { Logger } from '../velero/actions.ts';
import { unary } from './unary.ts';

export interface StreamRegistry {
  /** Streams to end when the process shuts down. */
  track(stream: { end(): void }): void;
}

export function controllerService(log: Logger, onShutdown: () => void): grpc.UntypedServiceImplementation {
  return {
    Shutdown: unary(log, 'GRPCController.Shutdown', () => {
      // Reply first: the process goes away right after the response is flushed.
      setImmediate(onShutdown);
      return {};
    }),
  };
}

export function stdioService(streams: StreamRegistry): grpc.UntypedServiceImplementation {
  return {
    // We never write to stdout/stderr through the stream (logs go to stderr directly, which
    // go-plugin reads). An open stream that sends nothing is what go-plugin expects from us.
    StreamStdio: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      streams.track(call);
      call.on('cancelled', () => call.end());
    },
  };
}

export function brokerService(streams: StreamRegistry): grpc.UntypedServiceImplementation {
  return {
    // Velero never brokers extra connections; accept the stream, ignore what arrives, end with it.
    StartStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      streams.track(call);
      call.on('data', () => undefined);
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  };
}

const SERVED = new Set(['', 'plugin']);

export function healthService(log: Logger, streams: StreamRegistry): grpc.UntypedServiceImplementation {
  return {
    Check: (
      call: grpc.ServerUnaryCall<{ service: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      if (SERVED.has(call.request.service)) {
        callback(null, { status: 'SERVING' });
      } else {
        log.debug('health check for an unknown service', { service: call.request.service });
        callback({ code: grpcJs.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
      }
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
      streams.track(call);
      call.write({ status: SERVED.has(call.request.service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
      call.on('cancelled', () => call.end());
    },
  };
}
