// Reads a Velero backup tarball (`velero backup download` writes `<backup>-data.tar.gz`: gzip of a tar of
// `metadata/version` and `resources/<resource.group>/namespaces/<ns>/<name>.json` or
// `.../cluster/<name>.json`) as a stream: gunzip and tar are parsed chunk by chunk, every item's path
// is remembered, and only the items inspect needs are parsed (VMs, revisions, instance types and
// preferences, DataVolumes and PVCs). Secrets and config maps are noted by name; their contents are
// never read.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { isJsonObject, parseJson } from '../shared/json.ts';
import type { KubeObject } from '../velero/types.ts';
import { readTarStream, TarError, type EntryChoice, type TarHeader } from './tar.ts';

export class InspectInputError extends Error {
  override name = 'InspectInputError';
}

/** The API resources whose items inspect parses (the others are only noted as present). */
export const PARSED_RESOURCES = new Set([
  'virtualmachines.kubevirt.io',
  'controllerrevisions.apps',
  'virtualmachineinstancetypes.instancetype.kubevirt.io',
  'virtualmachineclusterinstancetypes.instancetype.kubevirt.io',
  'virtualmachinepreferences.instancetype.kubevirt.io',
  'virtualmachineclusterpreferences.instancetype.kubevirt.io',
  'datavolumes.cdi.kubevirt.io',
  'persistentvolumeclaims',
]);

/** More than etcd's default request limit (1.5 MiB) with room to spare: no real item is larger. */
export const MAX_ITEM_BYTES = 8 * 1024 * 1024;
/** What all parsed items together may take, so that a hostile archive cannot exhaust memory. */
export const MAX_PARSED_BYTES = 512 * 1024 * 1024;

export interface ItemRef {
  /** Velero's "resource.group" (core: just "resource"). */
  resource: string;
  /** '' for cluster-scoped items. */
  namespace: string;
  name: string;
}

export function itemKey(ref: ItemRef): string {
  return `${ref.resource}|${ref.namespace}|${ref.name}`;
}

/** What a backup tarball holds, as far as inspect is concerned. */
export interface BackupContents {
  /** `metadata/version`: Velero's backup format version. */
  formatVersion: string | undefined;
  /** Every item of the backup, by itemKey. */
  items: Set<string>;
  /** The parsed items of PARSED_RESOURCES, by itemKey. */
  parsed: Map<string, KubeObject>;
}

/** `resources/<resource>/namespaces/<ns>/<name>.json` or `resources/<resource>/cluster/<name>.json`. */
export function itemRefOfPath(path: string): ItemRef | undefined {
  const parts = path.split('/');
  if (parts[0] !== 'resources' || !path.endsWith('.json')) return undefined;
  const file = parts[parts.length - 1] ?? '';
  const name = file.slice(0, -'.json'.length);
  // Versioned copies (`resources/<resource>/<version>-preferredversion/...`, EnableAPIGroupVersions) are
  // duplicates of the unversioned item: skipped.
  if (parts.length === 5 && parts[2] === 'namespaces') return { resource: parts[1] ?? '', namespace: parts[3] ?? '', name };
  if (parts.length === 4 && parts[2] === 'cluster') return { resource: parts[1] ?? '', namespace: '', name };
  return undefined;
}

/** Collects the contents of a backup from a stream of tar entries. */
export class ContentsCollector {
  readonly contents: BackupContents = { formatVersion: undefined, items: new Set(), parsed: new Map() };
  private parsedBytes = 0;

  choose = (header: TarHeader): EntryChoice => {
    if (header.path === 'metadata/version') return { read: true, maxBytes: 1024 };
    const ref = itemRefOfPath(header.path);
    return ref !== undefined && PARSED_RESOURCES.has(ref.resource) ? { read: true, maxBytes: MAX_ITEM_BYTES } : { read: false };
  };

  onEntry = (header: TarHeader, body: Buffer | undefined): void => {
    if (header.path === 'metadata/version') {
      this.contents.formatVersion = body?.toString('utf8').trim();
      return;
    }
    const ref = itemRefOfPath(header.path);
    if (ref === undefined) return;
    this.contents.items.add(itemKey(ref));
    if (body === undefined) return;
    this.parsedBytes += body.length;
    if (this.parsedBytes > MAX_PARSED_BYTES) {
      throw new InspectInputError(`the backup's VM-related items take more than ${MAX_PARSED_BYTES} bytes; too large to inspect`);
    }
    let parsed;
    try {
      parsed = parseJson(body.toString('utf8'), header.path);
    } catch {
      throw new InspectInputError(`${header.path} in the backup is not valid JSON`);
    }
    if (!isJsonObject(parsed) || !isJsonObject(parsed['metadata'])) {
      throw new InspectInputError(`${header.path} in the backup is not a Kubernetes object`);
    }
    this.contents.parsed.set(itemKey(ref), parsed as unknown as KubeObject);
  };

  /** The contents, after checking that this was a Velero backup at all. */
  finish(): BackupContents {
    if (this.contents.formatVersion === undefined && this.contents.items.size === 0) {
      throw new InspectInputError('not a Velero backup tarball (no metadata/version and no resources/ in it)');
    }
    return this.contents;
  }
}

function zlibMessage(err: NodeJS.ErrnoException): string {
  if (err.code === 'Z_DATA_ERROR') return 'not a gzip file, or corrupt gzip data';
  if (err.code === 'Z_BUF_ERROR') return 'truncated gzip data';
  return err.message;
}

/** Reads chunks of a gzipped tarball; gzip and file errors become InspectInputErrors. */
async function* gunzipped(path: string): AsyncGenerator<Buffer> {
  const file = createReadStream(path);
  const gunzip = createGunzip();
  file.on('error', (err) => gunzip.destroy(err));
  file.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new InspectInputError(`${path}: no such file`);
    if (e.code === 'EISDIR') throw new InspectInputError(`${path} is a directory, not a backup tarball`);
    if (e.code === 'EACCES') throw new InspectInputError(`${path}: permission denied`);
    if (typeof e.code === 'string' && e.code.startsWith('Z_')) throw new InspectInputError(`${path}: ${zlibMessage(e)}`);
    throw err;
  } finally {
    file.destroy();
    gunzip.destroy();
  }
}

/** The contents of the backup tarball at `path`, read as a stream. */
export async function readBackupTarball(path: string): Promise<BackupContents> {
  const collector = new ContentsCollector();
  try {
    await readTarStream(gunzipped(path), collector.choose, collector.onEntry);
  } catch (err) {
    if (err instanceof TarError) throw new InspectInputError(`${path}: ${err.message}`);
    throw err;
  }
  return collector.finish();
}
