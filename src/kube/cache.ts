// Look-ups cached for one backup or restore. Velero calls the plugin once per item; a namespace
// with 1,000 VMs would otherwise cost several GETs per VM. Here the first look-up of a kind in a
// namespace LISTs that kind once and later look-ups are answered from memory; a name missing from
// the listing is confirmed with one GET (the object may have been created since), and that answer
// is remembered too. Cached objects are frozen: they are shared between calls.
import type { JsonObject, KubeObject } from '../velero/types.ts';
import { deepFreeze } from '../shared/json.ts';
import type { KubeApi, ObjectKey, PatchOptions, TypeKey } from './api.ts';

/**
 * Kinds never listed wholesale: a LIST of secrets would pull every secret's data of the namespace
 * into the plugin's memory, and config maps can be large. They are fetched one by one (and cached).
 */
const NOT_LISTED = new Set(['Secret', 'ConfigMap']);

function typeKey(apiVersion: string, kind: string, namespace: string | undefined): string {
  return `${apiVersion}|${kind}|${namespace ?? ''}`;
}

function objectKey(key: ObjectKey): string {
  return `${typeKey(key.apiVersion, key.kind, key.namespace)}|${key.name}`;
}

/**
 * How an answer is kept: frozen (it is shared between calls), without metadata.managedFields. Those are
 * the API server's records of which client set which field; nothing in the plugin reads them, and in a
 * backup's listing of 2,000 revisions or a restore's of 1,000 VMs they are a large share of the memory.
 */
function kept<T extends KubeObject | undefined>(object: T): T {
  // (An object already frozen by someone else is kept as it is: it cannot be changed.)
  if (object?.metadata !== undefined && !Object.isFrozen(object.metadata)) delete object.metadata['managedFields'];
  return deepFreeze(object);
}

export class ScopedKubeCache implements KubeApi {
  private readonly listings = new Map<string, Promise<Map<string, KubeObject>>>();
  private readonly objects = new Map<string, Promise<KubeObject | undefined>>();
  private readonly selections = new Map<string, Promise<KubeObject[]>>();

  constructor(
    private readonly inner: KubeApi,
    readonly createdAt: number = Date.now(),
  ) {}

  async get(key: ObjectKey): Promise<KubeObject | undefined> {
    if (!NOT_LISTED.has(key.kind)) {
      const listing = await this.listing(key);
      const hit = listing.get(key.name);
      if (hit !== undefined) return hit;
    }
    return this.remember(this.objects, objectKey(key), () => this.inner.get(key).then(kept));
  }

  async list(type: TypeKey, options: { labelSelector?: string } = {}): Promise<KubeObject[]> {
    // A whole namespace's listing is the same one get() uses: one LIST serves both.
    if (!options.labelSelector && !NOT_LISTED.has(type.kind) && type.namespace !== undefined) {
      return [...(await this.listing({ ...type, name: '' })).values()];
    }
    const cacheKey = `${typeKey(type.apiVersion, type.kind, type.namespace)}|${options.labelSelector ?? ''}`;
    return this.remember(this.selections, cacheKey, () => this.inner.list(type, options).then((items) => deepFreeze(items.map(kept))));
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const created = await this.inner.create(object);
    this.forget({
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: created.metadata.name ?? object.metadata.name ?? '',
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
    });
    return created;
  }

  async strategicMergePatch(key: ObjectKey, patch: JsonObject, options?: PatchOptions): Promise<KubeObject> {
    const patched = await this.inner.strategicMergePatch(key, patch, options);
    this.forget(key);
    return patched;
  }

  /** After a write, the object and every cached collection of its kind may be stale. */
  private forget(key: ObjectKey): void {
    const prefix = typeKey(key.apiVersion, key.kind, key.namespace);
    this.listings.delete(prefix);
    this.objects.delete(objectKey(key));
    for (const k of this.selections.keys()) if (k.startsWith(`${prefix}|`)) this.selections.delete(k);
  }

  private listing(key: ObjectKey): Promise<Map<string, KubeObject>> {
    return this.remember(this.listings, typeKey(key.apiVersion, key.kind, key.namespace), async () => {
      const type: TypeKey = {
        apiVersion: key.apiVersion,
        kind: key.kind,
        ...(key.namespace !== undefined ? { namespace: key.namespace } : {}),
      };
      const items = await this.inner.list(type);
      const byName = new Map<string, KubeObject>();
      for (const item of items) if (item.metadata.name) byName.set(item.metadata.name, kept(item));
      return byName;
    });
  }

  /** Concurrent callers share one request; a failed request is not remembered. */
  private remember<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let pending = map.get(key);
    if (pending === undefined) {
      pending = load();
      map.set(key, pending);
      pending.catch(() => {
        if (map.get(key) === pending) map.delete(key);
      });
    }
    return pending;
  }
}
