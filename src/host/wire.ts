// Conversions between Velero's wire messages and the plain objects actions work with.
import type {
  Backup,
  KubeObject,
  OperationProgress,
  ResourceIdentifier,
  ResourceSelector,
  Restore,
} from '../velero/types.ts';
import { PluginError } from './errors.ts';
import { deepFreeze, isJsonObject, parseJson, stringifyJson } from '../shared/json.ts';

/** The text of a bytes field, without copying it first (grpc-js hands us Buffers). */
function utf8(bytes: Uint8Array): string {
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('utf8');
}

/** Parses an item Velero sent; `what` names it in errors ("item", "itemFromBackup"). */
export function decodeKubeObject(bytes: Uint8Array | undefined, what: string): KubeObject {
  if (!bytes || bytes.length === 0) throw new PluginError(`${what} is empty`);
  const value = parseJson(utf8(bytes), what);
  if (!isJsonObject(value)) throw new PluginError(`${what} is not a JSON object`);
  if (typeof value['apiVersion'] !== 'string' || value['apiVersion'] === '') {
    throw new PluginError(`${what} has no apiVersion`);
  }
  if (typeof value['kind'] !== 'string' || value['kind'] === '') throw new PluginError(`${what} has no kind`);
  if (value['metadata'] === undefined) value['metadata'] = {};
  if (!isJsonObject(value['metadata'])) throw new PluginError(`${what}: metadata is not an object`);
  return value as unknown as KubeObject;
}

/**
 * Velero sends the same Backup (or Restore) with every call of one backup: two calls per VM. The last
 * one decoded is kept, frozen, with its bytes; a call bringing the same bytes gets the same object
 * (one byte comparison instead of a JSON parse), and what is worked out from it once, such as the
 * compiled resource filters (src/velero/filters.ts), is reused with it.
 */
class LastDecoded {
  private bytes: Buffer | undefined;
  private value: KubeObject | undefined;

  constructor(
    private readonly what: string,
    private readonly kind: string,
  ) {}

  decode(bytes: Uint8Array | undefined): KubeObject {
    if (bytes && bytes.length > 0 && this.bytes !== undefined && this.value !== undefined && this.bytes.equals(bytes)) {
      return this.value;
    }
    const value = deepFreeze(decodeVeleroObject(bytes, this.what, this.kind));
    // A copy: the request's buffer belongs to gRPC.
    this.bytes = bytes && bytes.length > 0 ? Buffer.from(bytes) : undefined;
    this.value = value;
    return value;
  }
}

const lastBackup = new LastDecoded('backup', 'Backup');
const lastRestore = new LastDecoded('restore', 'Restore');

/**
 * The Backup / Restore object is informational: an empty one is tolerated (Velero always sends one).
 * The object is frozen (see LastDecoded): copy it before changing it.
 */
export function decodeBackup(bytes: Uint8Array | undefined): Backup {
  return lastBackup.decode(bytes) as Backup;
}

export function decodeRestore(bytes: Uint8Array | undefined): Restore {
  return lastRestore.decode(bytes) as Restore;
}

function decodeVeleroObject(bytes: Uint8Array | undefined, what: string, kind: string): KubeObject {
  if (!bytes || bytes.length === 0) return { apiVersion: 'velero.io/v1', kind, metadata: {} };
  const value = parseJson(utf8(bytes), what);
  if (!isJsonObject(value)) throw new PluginError(`${what} is not a JSON object`);
  if (!isJsonObject(value['metadata'])) value['metadata'] = {};
  return value as unknown as KubeObject;
}

/** Serialises an action's returned item; an item without apiVersion/kind would fail inside Velero. */
export function encodeKubeObject(item: KubeObject, what: string): Buffer {
  if (!isJsonObject(item) || typeof item.apiVersion !== 'string' || typeof item.kind !== 'string') {
    throw new PluginError(`${what} returned by the action is not a complete Kubernetes object`);
  }
  return Buffer.from(stringifyJson(item));
}

export interface WireResourceIdentifier {
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

export function encodeIdentifiers(ids: readonly ResourceIdentifier[] | undefined): WireResourceIdentifier[] {
  return (ids ?? []).map((id) => ({
    group: id.group,
    resource: id.resource,
    namespace: id.namespace,
    name: id.name,
  }));
}

export function decodeIdentifiers(ids: readonly Partial<WireResourceIdentifier>[] | undefined): ResourceIdentifier[] {
  return (ids ?? []).map((id) => ({
    group: id.group ?? '',
    resource: id.resource ?? '',
    namespace: id.namespace ?? '',
    name: id.name ?? '',
  }));
}

export function encodeSelector(selector: ResourceSelector): Required<ResourceSelector> {
  return {
    includedNamespaces: selector.includedNamespaces ?? [],
    excludedNamespaces: selector.excludedNamespaces ?? [],
    includedResources: selector.includedResources ?? [],
    excludedResources: selector.excludedResources ?? [],
    selector: selector.selector ?? '',
  };
}

function timestamp(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/** Velero dereferences `progress` unconditionally: always fill it. */
export function encodeProgress(progress: OperationProgress): Record<string, unknown> {
  const now = new Date();
  return {
    completed: progress.completed,
    err: progress.err,
    nCompleted: progress.nCompleted,
    nTotal: progress.nTotal,
    operationUnits: progress.operationUnits,
    description: progress.description,
    started: timestamp(progress.started ?? now),
    updated: timestamp(progress.updated ?? now),
  };
}

export function encodeDuration(seconds: number): { seconds: number; nanos: number } {
  const whole = Math.floor(seconds);
  return { seconds: whole, nanos: Math.round((seconds - whole) * 1e9) };
}
