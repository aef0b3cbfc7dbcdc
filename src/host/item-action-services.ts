// Velero's BackupItemAction and RestoreItemAction services, v1 and v2: decode the request, route by
// the `plugin` name to the registered action, encode its answer.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../velero/actions.ts';
import type { Backup, KubeObject } from '../velero/types.ts';
import { PluginError } from './errors.ts';
import type { PluginRegistry } from './registry.ts';
import { stallForTest } from './test-stall.ts';
import { unary } from './unary.ts';
import {
  decodeBackup,
  decodeIdentifiers,
  decodeKubeObject,
  decodeRestore,
  encodeDuration,
  encodeIdentifiers,
  encodeKubeObject,
  encodeProgress,
  encodeSelector,
  type WireResourceIdentifier,
} from './wire.ts';

interface PluginRequest {
  plugin: string;
}
interface BackupExecuteRequest extends PluginRequest {
  item: Buffer;
  backup: Buffer;
}
interface RestoreExecuteRequest extends PluginRequest {
  item: Buffer;
  restore: Buffer;
  itemFromBackup: Buffer;
}
interface BackupOperationRequest extends PluginRequest {
  operationID: string;
  backup: Buffer;
}
interface RestoreOperationRequest extends PluginRequest {
  operationID: string;
  restore: Buffer;
}
interface ItemsReadyRequest extends PluginRequest {
  restore: Buffer;
  additionalItems: WireResourceIdentifier[];
}

/** The fields Velero shows with each log line of an item. */
function itemFields(item: KubeObject): Record<string, string> {
  return {
    resource: item.kind,
    namespace: item.metadata.namespace ?? '',
    name: item.metadata.name ?? '',
  };
}

/** An item and its Backup from a request (BackupItemAction.Execute, ItemBlockAction.GetRelatedItems), with the item's logger. */
function backupItemInput(req: BackupExecuteRequest, log: Logger): { item: KubeObject; backup: Backup; log: Logger } {
  const item = decodeKubeObject(req.item, 'item');
  const backup = decodeBackup(req.backup);
  return { item, backup, log: log.with({ plugin: req.plugin, backup: backup.metadata.name ?? '', ...itemFields(item) }) };
}

function requireOperationId(id: string | undefined): string {
  if (!id) throw new PluginError('operationID is empty');
  return id;
}

export function backupItemActionService(
  registry: PluginRegistry,
  log: Logger,
  version: 1 | 2,
): grpc.UntypedServiceImplementation {
  const kind = version === 1 ? 'BackupItemAction' : 'BackupItemActionV2';
  const service: grpc.UntypedServiceImplementation = {
    AppliesTo: unary(log, `${kind}.AppliesTo`, (req: PluginRequest) => ({
      ResourceSelector: encodeSelector(registry.resolve(kind, req.plugin, log).appliesTo()),
    })),
    Execute: unary(log, `${kind}.Execute`, async (req: BackupExecuteRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      const out = await action.execute(backupItemInput(req, log));
      const response: Record<string, unknown> = {
        item: encodeKubeObject(out.item, 'item'),
        additionalItems: encodeIdentifiers(out.additionalItems),
      };
      if (version === 2) {
        response['operationID'] = out.operationId ?? '';
        response['postOperationItems'] = encodeIdentifiers(out.postOperationItems);
      } else if (out.operationId) {
        throw new PluginError(`plugin "${req.plugin}" is registered as v1 but returned an operation ID`);
      }
      return response;
    }),
  };
  if (version === 2) {
    service['Progress'] = unary(log, `${kind}.Progress`, async (req: BackupOperationRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      const id = requireOperationId(req.operationID);
      if (!action.progress) throw new PluginError(`plugin "${req.plugin}" has no asynchronous operations (operation ${id})`);
      const backup = decodeBackup(req.backup);
      const progress = await action.progress(id, backup, log.with({ plugin: req.plugin, operationID: id }));
      return { progress: encodeProgress(progress) };
    });
    service['Cancel'] = unary(log, `${kind}.Cancel`, async (req: BackupOperationRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      const id = requireOperationId(req.operationID);
      if (action.cancel) await action.cancel(id, decodeBackup(req.backup), log.with({ plugin: req.plugin, operationID: id }));
      return {};
    });
  }
  return service;
}

export function restoreItemActionService(
  registry: PluginRegistry,
  log: Logger,
  version: 1 | 2,
): grpc.UntypedServiceImplementation {
  const kind = version === 1 ? 'RestoreItemAction' : 'RestoreItemActionV2';
  const service: grpc.UntypedServiceImplementation = {
    AppliesTo: unary(log, `${kind}.AppliesTo`, (req: PluginRequest) => ({
      ResourceSelector: encodeSelector(registry.resolve(kind, req.plugin, log).appliesTo()),
    })),
    Execute: unary(log, `${kind}.Execute`, async (req: RestoreExecuteRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      const item = decodeKubeObject(req.item, 'item');
      const itemFromBackup = decodeKubeObject(req.itemFromBackup, 'itemFromBackup');
      const restore = decodeRestore(req.restore);
      const itemLog = log.with({ plugin: req.plugin, restore: restore.metadata.name ?? '', ...itemFields(item) });
      // (A test build's hook only: the product build drops this statement.)
      if (globalThis.__KVP_TEST_BUILD__ === true) await stallForTest(restore.metadata.name ?? '', item, itemLog);
      const out = await action.execute({ item, itemFromBackup, restore, log: itemLog });
      const response: Record<string, unknown> = {
        item: encodeKubeObject(out.item, 'item'),
        additionalItems: encodeIdentifiers(out.additionalItems),
        skipRestore: out.skipRestore ?? false,
      };
      if (version === 2) {
        response['operationID'] = out.operationId ?? '';
        response['waitForAdditionalItems'] = out.waitForAdditionalItems ?? false;
        if (out.additionalItemsReadyTimeoutSeconds !== undefined) {
          response['additionalItemsReadyTimeout'] = encodeDuration(out.additionalItemsReadyTimeoutSeconds);
        }
      } else if (out.operationId || out.waitForAdditionalItems) {
        throw new PluginError(`plugin "${req.plugin}" is registered as v1 but asked for a v2 feature`);
      }
      return response;
    }),
  };
  if (version === 2) {
    service['Progress'] = unary(log, `${kind}.Progress`, async (req: RestoreOperationRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      const id = requireOperationId(req.operationID);
      if (!action.progress) throw new PluginError(`plugin "${req.plugin}" has no asynchronous operations (operation ${id})`);
      const restore = decodeRestore(req.restore);
      const progress = await action.progress(id, restore, log.with({ plugin: req.plugin, operationID: id }));
      return { progress: encodeProgress(progress) };
    });
    service['Cancel'] = unary(log, `${kind}.Cancel`, async (req: RestoreOperationRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      const id = requireOperationId(req.operationID);
      if (action.cancel) await action.cancel(id, decodeRestore(req.restore), log.with({ plugin: req.plugin, operationID: id }));
      return {};
    });
    service['AreAdditionalItemsReady'] = unary(log, `${kind}.AreAdditionalItemsReady`, async (req: ItemsReadyRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      // An action that never asks to wait has nothing to wait for.
      if (!action.areAdditionalItemsReady) return { ready: true };
      const ready = await action.areAdditionalItemsReady(
        decodeIdentifiers(req.additionalItems),
        decodeRestore(req.restore),
        log.with({ plugin: req.plugin }),
      );
      return { ready };
    });
  }
  return service;
}

/** Velero's ItemBlockAction service (package v1; Velero >= 1.15 only). */
export function itemBlockActionService(registry: PluginRegistry, log: Logger): grpc.UntypedServiceImplementation {
  const kind = 'ItemBlockAction';
  return {
    AppliesTo: unary(log, `${kind}.AppliesTo`, (req: PluginRequest) => ({
      ResourceSelector: encodeSelector(registry.resolve(kind, req.plugin, log).appliesTo()),
    })),
    // Same request fields as BackupItemAction.Execute.
    GetRelatedItems: unary(log, `${kind}.GetRelatedItems`, async (req: BackupExecuteRequest) => {
      const action = registry.resolve(kind, req.plugin, log);
      return { relatedItems: encodeIdentifiers(await action.getRelatedItems(backupItemInput(req, log))) };
    }),
  };
}
