// The plugin's only HTTP client for the Kubernetes API. Credentials come from KUBECONFIG,
// ~/.kube/config or the pod's service account: read by cluster-access.ts for the usual shapes, and by
// @kubernetes/client-node's KubeConfig for the rest (exec plugins, several files...);
// requests are plain HTTPS made here so that bodies are parsed losslessly (int64 fields beyond 2^53
// survive) and objects are never re-shaped by the library's typed models. Every request has a
// deadline covering connection, headers and body, and is counted.
import http from 'node:http';
import https from 'node:https';
// Type only: the library itself is loaded only when cluster-access.ts cannot read the configuration
// (kubeconfig-loader.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import { isJsonObject, parseJson, stringifyJson } from '../shared/json.ts';
import type { JsonObject, KubeObject } from '../velero/types.ts';
import type { KubeApi, KubeMetadataApi, ObjectKey, PatchOptions, TypeKey } from './api.ts';
import { ScopedKubeCache } from './cache.ts';
import { readClusterAccess, SERVICE_ACCOUNT_DIR, type ClusterAccess } from './cluster-access.ts';
import { checkNamespaceName, checkObjectName, KubeApiError } from './errors.ts';
import { resourceForKind } from './resources.ts';
import { userAgent } from './user-agent.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Page size of LIST calls: bounds the size of one response while keeping the call count low. */
export const LIST_PAGE_SIZE = 500;
/** Credentials (tokens from files or exec plugins) are re-read this often. */
const AUTH_REFRESH_MS = 60_000;
const USER_AGENT = userAgent();
/**
 * Accept headers of metadata-only reads: the API server converts the object (or list) to
 * meta.k8s.io/v1 PartialObjectMetadata(List) before it answers, so no data, spec or status is sent.
 * No fallback media type on purpose: a server that cannot convert answers 406 instead of the full object.
 */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const METADATA_LIST_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_API_VERSION = 'meta.k8s.io/v1';
/** Connections to the API server at most (concurrent requests beyond wait for one). */
const MAX_SOCKETS = 16;
/** The TLS settings client-node puts on its agent (AgentOptions it copies from the kubeconfig). */
const TLS_SETTINGS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;
type TlsSettings = Partial<Pick<https.AgentOptions, (typeof TLS_SETTINGS)[number]>>;

function tlsSettingsOf(agent: https.Agent): TlsSettings {
  const options = (agent as unknown as { options: https.AgentOptions }).options;
  const tls: Record<string, unknown> = {};
  for (const key of TLS_SETTINGS) if (options[key] !== undefined) tls[key] = options[key];
  return tls as TlsSettings;
}

function sameTlsSettings(a: TlsSettings, b: TlsSettings): boolean {
  return TLS_SETTINGS.every((key) => String(a[key]) === String(b[key]));
}

export interface KubeClientOptions {
  /** Deadline of one request, connection to last byte. */
  timeoutMs?: number;
  /** A loaded configuration; by default KUBECONFIG, ~/.kube/config or in-cluster, loaded on first use. */
  kubeConfig?: KubeConfig;
  /** How long a per-backup cache lives (ms). */
  cacheTtlMs?: number;
  /** Page size of LIST calls (default LIST_PAGE_SIZE). */
  listPageSize?: number;
}

export interface RequestCounts {
  total: number;
  get: number;
  list: number;
  create: number;
  patch: number;
  discovery: number;
}

interface ResourcePath {
  /** e.g. /apis/kubevirt.io/v1 */
  base: string;
  plural: string;
  namespaced: boolean;
  /** "virtualmachines.kubevirt.io", for messages. */
  label: string;
}

type Verb = 'get' | 'list' | 'create' | 'patch' | 'discovery';

/**
 * Where requests go and the https.RequestOptions (Authorization header, agent with the TLS settings,
 * basic auth) that client-node's applyToHTTPSOptions would make.
 */
interface Access {
  source: ClusterAccess['source'] | 'client-node';
  server: string;
  requestOptions(): Promise<https.RequestOptions>;
}

function clientNodeAccess(kc: KubeConfig): Access {
  return {
    source: 'client-node',
    // Empty when the configuration names no cluster: request() says so.
    server: kc.getCurrentCluster()?.server ?? '',
    requestOptions: async () => {
      const options: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      return options;
    },
  };
}

function plainAccess(access: ClusterAccess): Access {
  return {
    source: access.source,
    server: access.server,
    requestOptions: () => {
      const { token, ...tls } = access.settings();
      return Promise.resolve({
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
        agent: new https.Agent(tls),
      });
    },
  };
}

/** The configuration read without client-node where possible (cluster-access.ts), else with it. */
async function loadDefaultAccess(): Promise<Access> {
  const plain = readClusterAccess();
  return plain === undefined ? clientNodeAccess(await loadDefaultConfig()) : plainAccess(plain);
}

/** The library is loaded here, only when needed, never at start-up: see kubeconfig-loader.ts. */
async function loadDefaultConfig(): Promise<KubeConfig> {
  const { newKubeConfig } = await import('./kubeconfig-loader.ts');
  const kc = newKubeConfig();
  kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new KubeApiError('no Kubernetes cluster configured: set KUBECONFIG or run inside a pod with a service account');
  }
  // loadFromDefault silently falls back to an unauthenticated localhost:8080, which never is what
  // a plugin inside Velero wants: say so instead of failing later with "connection refused".
  if (cluster.server === 'http://localhost:8080' && !process.env['KUBECONFIG']) {
    throw new KubeApiError(
      `no Kubernetes credentials found (no KUBECONFIG, no ~/.kube/config, no ${SERVICE_ACCOUNT_DIR}/token)`,
    );
  }
  return kc;
}

export class KubeClient implements KubeApi, KubeMetadataApi {
  private readonly timeoutMs: number;
  private readonly cacheTtlMs: number;
  private readonly listPageSize: number;
  private access: Access | undefined;
  private auth: { options: https.RequestOptions; at: number } | undefined;
  private sharedAgent: { tls: TlsSettings; agent: https.Agent } | undefined;
  private readonly discovered = new Map<string, Promise<ResourcePath>>();
  private readonly scopes = new Map<string, ScopedKubeCache>();
  readonly counts: RequestCounts = { total: 0, get: 0, list: 0, create: 0, patch: 0, discovery: 0 };

  /** Where the cluster configuration came from; undefined until the first request loads it. */
  get configSource(): Access['source'] | undefined {
    return this.access?.source;
  }

  constructor(options: KubeClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.cacheTtlMs = options.cacheTtlMs ?? 10 * 60_000;
    this.listPageSize = options.listPageSize ?? LIST_PAGE_SIZE;
    if (options.kubeConfig !== undefined) this.access = clientNodeAccess(options.kubeConfig);
  }

  /**
   * A view whose look-ups are cached for one backup or restore (key: its UID), so that N VMs in a
   * namespace cost O(1) LIST calls per namespace and kind. Old scopes are dropped after the TTL.
   */
  scoped(scopeId: string): KubeApi {
    const now = Date.now();
    for (const [id, cache] of this.scopes) {
      if (now - cache.createdAt > this.cacheTtlMs) this.scopes.delete(id);
    }
    let cache = this.scopes.get(scopeId);
    if (cache === undefined) {
      cache = new ScopedKubeCache(this, now);
      this.scopes.set(scopeId, cache);
      // A plugin process lives for one backup or restore, but bound the memory anyway.
      while (this.scopes.size > 4) {
        const oldest = this.scopes.keys().next().value;
        if (oldest === undefined) break;
        this.scopes.delete(oldest);
      }
    }
    return cache;
  }

  async get(key: ObjectKey): Promise<KubeObject | undefined> {
    return this.getObject(key, WHOLE_OBJECT);
  }

  async list(type: TypeKey, options: { labelSelector?: string } = {}): Promise<KubeObject[]> {
    return this.listPages(type, options, 'application/json');
  }

  /** GET of the object's metadata only (see KubeMetadataApi); an answer with more than that is refused. */
  async getMetadata(key: ObjectKey): Promise<KubeObject | undefined> {
    return this.getObject(key, METADATA_ONLY_ANSWER);
  }

  /** One GET: undefined on 404, the answer (as `answer` asks and checks it) on 200, an error otherwise. */
  private async getObject(key: ObjectKey, answer: Answer): Promise<KubeObject | undefined> {
    const path = await this.objectPath(key);
    const what = describe(key);
    const { status, body } = await this.request('get', 'GET', path, undefined, what, undefined, answer.accept);
    if (status === 404) return undefined;
    if (status !== 200) throw statusError('GET', what, status, body);
    return answer.accepted(asObject(body, what), what);
  }

  /** LIST of the objects' metadata only (see KubeMetadataApi), paged like list(). */
  async listMetadata(type: TypeKey, options: { labelSelector?: string } = {}): Promise<KubeObject[]> {
    const what = `${type.kind} metadata`;
    return (await this.listPages(type, options, METADATA_LIST_ONLY)).map((item) => metadataOnly(item, what));
  }

  private async listPages(type: TypeKey, options: { labelSelector?: string }, accept: string): Promise<KubeObject[]> {
    const resource = await this.resourcePath(type.apiVersion, type.kind);
    const what = `${resource.label}${type.namespace ? ` in namespace ${type.namespace}` : ''}${
      options.labelSelector ? ` with labels ${options.labelSelector}` : ''
    }`;
    let base = resource.base;
    if (resource.namespaced && type.namespace !== undefined) {
      checkNamespaceName(type.namespace);
      base += `/namespaces/${type.namespace}`;
    }
    base += `/${resource.plural}`;
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(this.listPageSize) });
      if (options.labelSelector) query.set('labelSelector', options.labelSelector);
      if (continueToken) query.set('continue', continueToken);
      const { status, body } = await this.request('list', 'GET', `${base}?${query.toString()}`, undefined, what, undefined, accept);
      if (status !== 200) throw statusError('LIST', what, status, body);
      if (!isJsonObject(body) || !Array.isArray(body['items'])) {
        throw new KubeApiError(`LIST ${what}: the API server answered with something that is not a list`);
      }
      // List items carry no apiVersion/kind of their own.
      const listKind = typeof body['kind'] === 'string' ? body['kind'].replace(/List$/, '') : type.kind;
      const apiVersion = typeof body['apiVersion'] === 'string' ? body['apiVersion'] : type.apiVersion;
      for (const item of body['items']) {
        if (!isJsonObject(item) || !isJsonObject(item['metadata'])) continue;
        items.push({ ...item, apiVersion, kind: listKind } as unknown as KubeObject);
      }
      const metadata = body['metadata'];
      continueToken =
        isJsonObject(metadata) && typeof metadata['continue'] === 'string' && metadata['continue'] !== ''
          ? metadata['continue']
          : undefined;
    } while (continueToken !== undefined);
    return items;
  }

  async create(object: KubeObject): Promise<KubeObject> {
    const key: ObjectKey = {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata.name ?? '',
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
    };
    const path = await this.objectPath(key, false);
    const what = describe(key);
    const { status, body } = await this.request('create', 'POST', path, stringifyJson(object), what);
    if (status !== 200 && status !== 201 && status !== 202) throw statusError('CREATE', what, status, body);
    return asObject(body, what);
  }

  async strategicMergePatch(key: ObjectKey, patch: JsonObject, options: PatchOptions = {}): Promise<KubeObject> {
    const path = await this.objectPath(key);
    const what = describe(key);
    const answer = options.answerMetadataOnly === true ? METADATA_ONLY_ANSWER : WHOLE_OBJECT;
    const { status, body } = await this.request('patch', 'PATCH', path, stringifyJson(patch), what, 'application/strategic-merge-patch+json', answer.accept);
    if (status !== 200 && status !== 201) throw statusError('PATCH', what, status, body);
    return answer.accepted(asObject(body, what), what);
  }

  /** The collection path for create (withName false) or the object path. */
  private async objectPath(key: ObjectKey, withName = true): Promise<string> {
    const resource = await this.resourcePath(key.apiVersion, key.kind);
    checkObjectName(key.name, key.kind);
    let path = resource.base;
    if (resource.namespaced) {
      if (key.namespace === undefined) throw new KubeApiError(`${describe(key)}: a ${key.kind} needs a namespace`);
      checkNamespaceName(key.namespace);
      path += `/namespaces/${key.namespace}`;
    }
    path += `/${resource.plural}`;
    return withName ? `${path}/${key.name}` : path;
  }

  /** Known kinds from the static table; any other kind through one discovery call per group version. */
  private resourcePath(apiVersion: string, kind: string): Promise<ResourcePath> {
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (!/^[a-z0-9.-]+(\/[a-z0-9]+)?$/.test(apiVersion)) {
      return Promise.reject(new KubeApiError(`invalid apiVersion ${JSON.stringify(apiVersion)}`));
    }
    const known = resourceForKind(apiVersion, kind);
    if (known !== undefined) {
      const label = known.group === '' ? known.plural : `${known.plural}.${known.group}`;
      return Promise.resolve({ base, plural: known.plural, namespaced: known.namespaced, label });
    }
    const cacheKey = `${apiVersion}/${kind}`;
    let found = this.discovered.get(cacheKey);
    if (found === undefined) {
      found = this.discover(base, apiVersion, kind);
      this.discovered.set(cacheKey, found);
      found.catch(() => this.discovered.delete(cacheKey));
    }
    return found;
  }

  private async discover(base: string, apiVersion: string, kind: string): Promise<ResourcePath> {
    const what = `API resources of ${apiVersion}`;
    const { status, body } = await this.request('discovery', 'GET', base, undefined, what);
    if (status !== 200) throw statusError('GET', what, status, body);
    const resources = isJsonObject(body) && Array.isArray(body['resources']) ? body['resources'] : [];
    for (const r of resources) {
      if (isJsonObject(r) && r['kind'] === kind && typeof r['name'] === 'string' && !r['name'].includes('/')) {
        const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
        return {
          base,
          plural: r['name'],
          namespaced: r['namespaced'] === true,
          label: group === '' ? r['name'] : `${r['name']}.${group}`,
        };
      }
    }
    throw new KubeApiError(`the API server does not serve kind ${kind} in ${apiVersion}`);
  }

  private async authOptions(): Promise<https.RequestOptions> {
    const now = Date.now();
    if (this.auth !== undefined && now - this.auth.at < AUTH_REFRESH_MS) return this.auth.options;
    this.access ??= await loadDefaultAccess();
    const options = await this.access.requestOptions();
    options.agent = this.keepAlive(options.agent);
    this.auth = { options, at: now };
    return options;
  }

  /**
   * client-node builds a new https.Agent without keep-alive, so every request would pay a TCP and TLS
   * handshake (on both sides: most of the plugin's CPU per request at restore). Requests go through
   * one keep-alive agent with the same TLS settings instead, kept while those settings do not change.
   * Proxy agents are used as they are.
   */
  private keepAlive(agent: https.RequestOptions['agent']): https.RequestOptions['agent'] {
    if (!(agent instanceof https.Agent) || agent.constructor !== https.Agent) return agent;
    const tls = tlsSettingsOf(agent);
    if (this.sharedAgent === undefined || !sameTlsSettings(this.sharedAgent.tls, tls)) {
      this.sharedAgent?.agent.destroy();
      this.sharedAgent = { tls, agent: new https.Agent({ ...tls, keepAlive: true, maxSockets: MAX_SOCKETS, scheduling: 'lifo' }) };
    }
    return this.sharedAgent.agent;
  }

  private async request(
    verb: Verb,
    method: string,
    path: string,
    payload: string | undefined,
    what: string,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<{ status: number; body: unknown }> {
    let auth: https.RequestOptions;
    try {
      auth = await this.authOptions();
    } catch (err) {
      throw new KubeApiError(
        `${method} ${what}: cannot use the Kubernetes client configuration: ${err instanceof Error ? err.message : String(err)}`,
        undefined,
        { cause: err },
      );
    }
    const server = this.access?.server;
    if (!server) throw new KubeApiError('no Kubernetes API server configured');
    const url = new URL(server.replace(/\/+$/, '') + path);
    this.counts.total++;
    this.counts[verb]++;
    const headers: http.OutgoingHttpHeaders = {
      ...(auth.headers as http.OutgoingHttpHeaders | undefined),
      Accept: accept,
      'User-Agent': USER_AGENT,
    };
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const signal = AbortSignal.timeout(this.timeoutMs);
    const transport = url.protocol === 'http:' ? http : https;
    const requestOptions: https.RequestOptions = {
      method,
      headers,
      signal,
      ...(url.protocol === 'https:' && auth.agent !== undefined ? { agent: auth.agent } : {}),
      ...(auth.auth !== undefined ? { auth: auth.auth } : {}),
    };
    const text = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = transport.request(url, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    }).catch((err: unknown) => {
      if (signal.aborted) {
        throw new KubeApiError(`${method} ${what}: no answer from the API server within ${this.timeoutMs} ms`, undefined, {
          cause: err,
        });
      }
      throw new KubeApiError(`${method} ${what}: ${err instanceof Error ? err.message : String(err)}`, undefined, {
        cause: err,
      });
    });
    let body: unknown = undefined;
    if (text.text.length > 0) {
      try {
        body = parseJson(text.text, `API response for ${what}`);
      } catch {
        body = text.text;
      }
    }
    return { status: text.status, body };
  }
}

function describe(key: ObjectKey): string {
  return `${key.kind} ${key.namespace ? `${key.namespace}/` : ''}${key.name}`;
}

function asObject(body: unknown, what: string): KubeObject {
  if (!isJsonObject(body) || !isJsonObject(body['metadata'])) {
    throw new KubeApiError(`${what}: the API server answered with something that is not an object`);
  }
  return body as unknown as KubeObject;
}

/**
 * A metadata-only answer reduced to its metadata. Anything else (a server that ignored the Accept
 * header and sent the whole object) is an error that names the object but never shows its content.
 */
function metadataOnly(object: KubeObject, what: string): KubeObject {
  if (object.apiVersion !== METADATA_API_VERSION || object.kind !== 'PartialObjectMetadata') {
    throw new KubeApiError(`${what}: the API server did not answer with metadata only (it sent kind ${JSON.stringify(object.kind)})`);
  }
  return { apiVersion: METADATA_API_VERSION, kind: 'PartialObjectMetadata', metadata: object.metadata };
}

/** What a request asks the API server to answer with (Accept), and how the answer is checked. */
interface Answer {
  accept: string;
  accepted: (object: KubeObject, what: string) => KubeObject;
}
const WHOLE_OBJECT: Answer = { accept: 'application/json', accepted: (object) => object };
const METADATA_ONLY_ANSWER: Answer = { accept: METADATA_ONLY, accepted: metadataOnly };

function statusError(verb: string, what: string, status: number, body: unknown): KubeApiError {
  let reason = '';
  if (isJsonObject(body) && typeof body['message'] === 'string') reason = body['message'];
  else if (typeof body === 'string') reason = body.slice(0, 300);
  return new KubeApiError(`${verb} ${what}: HTTP ${status}${reason ? `: ${reason}` : ''}`, status);
}
