// The contracts between the plugin host (src/host/) and the plugin's actions (src/actions/).
// An action never sees gRPC: it gets parsed objects and a logger, and returns plain objects.
import type {
  Backup,
  KubeObject,
  OperationProgress,
  ResourceIdentifier,
  ResourceSelector,
  Restore,
} from './types.ts';

/** Structured logging, hclog-shaped on the wire. Field values are written as strings. */
export interface Logger {
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  with(fields: LogFields): Logger;
}
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface BackupExecuteInput {
  item: KubeObject;
  backup: Backup;
  log: Logger;
}

export interface BackupExecuteOutput {
  /** The item to store; return it even when unchanged. */
  item: KubeObject;
  additionalItems?: ResourceIdentifier[];
  /** v2 only: a non-empty ID makes Velero poll progress(). */
  operationId?: string;
  postOperationItems?: ResourceIdentifier[];
}

export interface BackupItemAction {
  appliesTo(): ResourceSelector;
  execute(input: BackupExecuteInput): Promise<BackupExecuteOutput>;
  /** v2 only. */
  progress?(operationId: string, backup: Backup, log: Logger): Promise<OperationProgress>;
  /** v2 only. */
  cancel?(operationId: string, backup: Backup, log: Logger): Promise<void>;
}

export interface RestoreExecuteInput {
  /** The item as it will be created: Velero already removed status, uid, ownerReferences... */
  item: KubeObject;
  /** The item exactly as it is stored in the backup. */
  itemFromBackup: KubeObject;
  restore: Restore;
  log: Logger;
}

export interface RestoreExecuteOutput {
  item: KubeObject;
  additionalItems?: ResourceIdentifier[];
  skipRestore?: boolean;
  /** v2 only. */
  operationId?: string;
  /** v2 only: make Velero poll areAdditionalItemsReady() before creating the item. */
  waitForAdditionalItems?: boolean;
  /** v2 only: how long Velero waits for the additional items, in seconds. */
  additionalItemsReadyTimeoutSeconds?: number;
}

export interface RestoreItemAction {
  appliesTo(): ResourceSelector;
  execute(input: RestoreExecuteInput): Promise<RestoreExecuteOutput>;
  /** v2 only. */
  progress?(operationId: string, restore: Restore, log: Logger): Promise<OperationProgress>;
  /** v2 only. */
  cancel?(operationId: string, restore: Restore, log: Logger): Promise<void>;
  /** v2 only. */
  areAdditionalItemsReady?(items: ResourceIdentifier[], restore: Restore, log: Logger): Promise<boolean>;
}

export interface RelatedItemsInput {
  item: KubeObject;
  backup: Backup;
  log: Logger;
}

/**
 * Velero >= 1.15 backs up in item blocks: an item and the items an ItemBlockAction names as related
 * are backed up together, by one worker, and Velero runs the pod hooks of every pod in the block
 * before (pre) and after (post) backing the block up. There is a single version of this contract.
 */
export interface ItemBlockAction {
  appliesTo(): ResourceSelector;
  getRelatedItems(input: RelatedItemsInput): Promise<ResourceIdentifier[]>;
}

/** The plugin kinds this host can serve, with Velero's spelling. */
export type ActionKind =
  | 'BackupItemAction'
  | 'BackupItemActionV2'
  | 'RestoreItemAction'
  | 'RestoreItemActionV2'
  | 'ItemBlockAction';
