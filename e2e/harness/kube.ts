// A small REST client for the e2e control plane, for the tests themselves (the plugin has its own in
// src/kube/). It talks HTTPS to kube-apiserver with the admin token, trusting the API server's own
// self-signed certificate, resolves kinds to resources through discovery, and gives every call a timeout.
// It implements the project's KubeApi interface, plus what tests need on top (status subresource,
// delete, raw requests).
import { request as httpsRequest } from 'node:https';
import type { ObjectKey, KubeApi, TypeKey } from '../../src/kube/api.ts';
import { parseJson, stringifyJson } from '../../src/shared/json.ts';
import type { JsonObject, KubeObject } from '../../src/velero/types.ts';

export class KubeError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export interface Response {
  status: number;
  text: string;
}

interface ResourceInfo {
  resource: string;
  namespaced: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class KubeClient implements KubeApi {
  private readonly discovery = new Map<string, Map<string, ResourceInfo>>();

  constructor(
    readonly server: string,
    private readonly token: string,
    private readonly ca: string,
  ) {}

  /** One HTTP request to the API server; resolves with any status (callers decide what is an error). */
  request(
    method: string,
    path: string,
    body?: unknown,
    opts: { contentType?: string; timeoutMs?: number } = {},
  ): Promise<Response> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : stringifyJson(body);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          ca: this.ca,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            // An explicit length: Node neither chunks nor announces the body of a DELETE otherwise, and
            // the API server then misreads the next request on the kept-alive connection.
            ...(payload === undefined
              ? {}
              : { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
          timeout: timeoutMs,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Like request() but parses JSON and throws a KubeError on a non-2xx status. */
  async json(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeObject> {
    const res = await this.request(method, path, body, contentType === undefined ? {} : { contentType });
    if (res.status < 200 || res.status > 299) {
      throw new KubeError(`${method} ${path}: HTTP ${res.status}: ${res.text.slice(0, 500)}`, res.status, res.text);
    }
    return parseJson(res.text, `${method} ${path}`) as unknown as KubeObject;
  }

  /** Resource name and scope of a kind, from discovery (cached; `forget()` after adding CRDs). */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let kinds = this.discovery.get(apiVersion);
    if (kinds === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const list = (await this.json('GET', path)) as unknown as {
        resources: { name: string; kind: string; namespaced: boolean }[];
      };
      kinds = new Map();
      for (const r of list.resources) {
        if (!r.name.includes('/')) kinds.set(r.kind, { resource: r.name, namespaced: r.namespaced });
      }
      this.discovery.set(apiVersion, kinds);
    }
    const info = kinds.get(kind);
    if (info === undefined) throw new Error(`kind ${kind} is not served by ${apiVersion}`);
    return info;
  }

  forget(): void {
    this.discovery.clear();
  }

  /** The REST path of a collection (no name) or of one object. */
  async pathFor(key: { apiVersion: string; kind: string; namespace?: string; name?: string }): Promise<string> {
    const { resource, namespaced } = await this.resourceFor(key.apiVersion, key.kind);
    const base = key.apiVersion.includes('/') ? `/apis/${key.apiVersion}` : `/api/${key.apiVersion}`;
    for (const part of [key.namespace, key.name]) {
      if (part !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(part)) {
        throw new Error(`invalid object name or namespace ${JSON.stringify(part)}`);
      }
    }
    const ns = namespaced && key.namespace !== undefined ? `/namespaces/${key.namespace}` : '';
    if (namespaced && key.namespace === undefined && key.name !== undefined) {
      throw new Error(`${key.kind} ${key.name} is namespaced: give its namespace`);
    }
    return `${base}${ns}/${resource}${key.name === undefined ? '' : `/${key.name}`}`;
  }

  async get(key: ObjectKey): Promise<KubeObject | undefined> {
    const path = await this.pathFor(key);
    const res = await this.request('GET', path);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new KubeError(`GET ${path}: HTTP ${res.status}: ${res.text.slice(0, 500)}`, res.status, res.text);
    return parseJson(res.text, path) as unknown as KubeObject;
  }

  async list(type: TypeKey, options: { labelSelector?: string } = {}): Promise<KubeObject[]> {
    const path = await this.pathFor(type);
    const q = options.labelSelector === undefined ? '' : `?labelSelector=${encodeURIComponent(options.labelSelector)}`;
    const list = (await this.json('GET', path + q)) as unknown as { items: KubeObject[] };
    // List items carry no apiVersion/kind; put them back so items look like single GETs.
    return list.items.map((i) => ({ ...i, apiVersion: type.apiVersion, kind: type.kind }));
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const key = { apiVersion: object.apiVersion, kind: object.kind, ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }) };
    return this.json('POST', await this.pathFor(key), object);
  }

  async mergePatch(key: ObjectKey, patch: JsonObject): Promise<KubeObject> {
    return this.json('PATCH', await this.pathFor(key), patch, 'application/merge-patch+json');
  }

  async strategicMergePatch(key: ObjectKey, patch: JsonObject): Promise<KubeObject> {
    return this.json('PATCH', await this.pathFor(key), patch, 'application/strategic-merge-patch+json');
  }

  /** Merge-patches the status subresource (how KubeVirt's controllers write VM status). */
  async patchStatus(key: ObjectKey, status: JsonObject): Promise<KubeObject> {
    return this.json('PATCH', `${await this.pathFor(key)}/status`, { status }, 'application/merge-patch+json');
  }

  /** Deletes an object; true if it existed. `propagation` as in DeleteOptions (default Background). */
  async delete(key: ObjectKey, propagation: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<boolean> {
    const path = await this.pathFor(key);
    const res = await this.request('DELETE', path, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: propagation });
    if (res.status === 404) return false;
    if (res.status < 200 || res.status > 299) throw new KubeError(`DELETE ${path}: HTTP ${res.status}: ${res.text.slice(0, 500)}`, res.status, res.text);
    return true;
  }

  /** Creates the object, or merge-patches it to the given content when it already exists. */
  async apply(object: KubeObject): Promise<KubeObject> {
    const key: ObjectKey = {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata.name ?? '',
      ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
    };
    const existing = await this.get(key);
    if (existing === undefined) return this.create(object);
    return this.mergePatch(key, object as unknown as JsonObject);
  }
}
