// Builds the gRPC service definitions from the project's own .proto files, embedded as text.
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import goPlugin from '../../proto/go-plugin.proto';
import googleRpcStatus from '../../proto/google-rpc-status.proto';
import googleTypes from '../../proto/google-types.proto';
import health from '../../proto/grpc-health-v1.proto';
import backupV1 from '../../proto/velero-backup-item-action-v1.proto';
import backupV2 from '../../proto/velero-backup-item-action-v2.proto';
import itemBlockV1 from '../../proto/velero-item-block-action-v1.proto';
import lister from '../../proto/velero-plugin-lister.proto';
import restoreV1 from '../../proto/velero-restore-item-action-v1.proto';
import restoreV2 from '../../proto/velero-restore-item-action-v2.proto';
import shared from '../../proto/velero-shared.proto';

const sources = [
  googleTypes,
  googleRpcStatus,
  shared,
  lister,
  backupV1,
  restoreV1,
  backupV2,
  restoreV2,
  itemBlockV1,
  goPlugin,
  health,
];

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // Imports are not followed: every file is parsed into the same root, which resolves names itself.
  for (const source of sources) protobuf.parse(source, root, { keepCase: true });
  root.resolveAll();
  return root;
}

export const protoRoot = buildRoot();

const packageDefinition = fromJSON(protoRoot.toJSON(), {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

const loaded = grpc.loadPackageDefinition(packageDefinition);

function service(path: string): grpc.ServiceDefinition {
  let node: unknown = loaded;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  const definition = (node as { service?: grpc.ServiceDefinition } | undefined)?.service;
  if (!definition) throw new Error(`service ${path} missing from the embedded .proto files`);
  return definition;
}

export const Services = {
  pluginLister: service('generated.PluginLister'),
  backupItemActionV1: service('generated.BackupItemAction'),
  restoreItemActionV1: service('generated.RestoreItemAction'),
  backupItemActionV2: service('v2.BackupItemAction'),
  restoreItemActionV2: service('v2.RestoreItemAction'),
  itemBlockActionV1: service('v1.ItemBlockAction'),
  controller: service('plugin.GRPCController'),
  stdio: service('plugin.GRPCStdio'),
  broker: service('plugin.GRPCBroker'),
  health: service('grpc.health.v1.Health'),
};

/** Client constructors, for the host emulator in the tests and for the benchmark. */
export function clientConstructor(path: string): grpc.ServiceClientConstructor {
  let node: unknown = loaded;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  return node as grpc.ServiceClientConstructor;
}

export const StackType = protoRoot.lookupType('generated.Stack');
export const StatusType = protoRoot.lookupType('google.rpc.Status');
