// Where the plugin's API requests go and how they authenticate, for the two shapes a Velero plugin
// meets in practice, read here without @kubernetes/client-node:
//   - the pod's service account (Velero's own deployment: no KUBECONFIG, no ~/.kube/config);
//   - one kubeconfig file whose current context uses a bearer token or a client certificate, with
//     the CA given inline or as a file.
// Loading client-node costs a plugin process 75-87 ms of CPU and 3-7 MiB of its peak at 1,000 VMs (it
// evaluates its whole generated API on import; BENCHMARKS.md), for three calls. Anything this reader
// does not know exactly - several KUBECONFIG files, exec or auth-provider credentials, proxies,
// impersonation, basic auth, any key it has no rule for - is left to client-node, loaded then
// (readClusterAccess answers undefined). It follows client-node's loadFromDefault and
// applyToHTTPSOptions, and test/kube/cluster-access.test.ts holds the two side by side.
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { load } from 'js-yaml';

/** The service account files Kubernetes mounts into every pod (client-go and client-node read the same). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What a request needs: the server, TLS settings for its agent, and the Authorization header. */
export interface ClusterAccess {
  /** Where it was read from, for the plugin's exit report. */
  source: 'kubeconfig file' | 'service account';
  /** Without a trailing slash. */
  server: string;
  /** Read again on every call: a projected service account token is rotated on disk. */
  settings(): AccessSettings;
}

export interface AccessSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Only when the kubeconfig says insecure-skip-tls-verify: true (as client-node). */
  rejectUnauthorized?: false;
  servername?: string;
  token?: string;
}

export interface AccessEnvironment {
  env: NodeJS.ProcessEnv;
  /** Where the service account files are (tests point it elsewhere). */
  serviceAccountDir: string;
}

const KNOWN_TOP_LEVEL = new Set(['apiVersion', 'kind', 'clusters', 'contexts', 'users', 'current-context', 'preferences', 'extensions']);
const KNOWN_CLUSTER = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);
const KNOWN_USER = new Set(['token', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'extensions']);
const KNOWN_CONTEXT = new Set(['cluster', 'user', 'namespace', 'extensions']);

type Entry = Record<string, unknown>;

function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKnownKeys(value: Entry, known: ReadonlySet<string>): boolean {
  return Object.keys(value).every((key) => known.has(key));
}

/** The `field` entry (cluster, user, context) of the first named item of a kubeconfig list. */
function named(list: unknown, name: string, field: string): Entry | undefined {
  if (!Array.isArray(list)) return undefined;
  const item: unknown = list.find((e) => isEntry(e) && e['name'] === name);
  return isEntry(item) && isEntry(item[field]) ? item[field] : undefined;
}

function optionalString(entry: Entry, key: string): string | undefined | null {
  const value = entry[key];
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : null;
}

/** The file's bytes if a path is given, else the base64 data (client-node's bufferFromFileOrString). */
function fileOrData(file: string | undefined, data: string | undefined, directory: string): Buffer | undefined {
  if (file !== undefined) return readFileSync(path.isAbsolute(file) ? file : path.join(directory, file));
  if (data !== undefined) return Buffer.from(data, 'base64');
  return undefined;
}

/** A kubeconfig file's current context, if it has only what this reader knows. */
function fromKubeconfig(file: string): ClusterAccess | undefined {
  const config: unknown = load(readFileSync(file, 'utf8'));
  if (!isEntry(config) || !onlyKnownKeys(config, KNOWN_TOP_LEVEL)) return undefined;
  const current = config['current-context'];
  if (typeof current !== 'string' || current === '') return undefined;
  const context = named(config['contexts'], current, 'context');
  if (context === undefined || !onlyKnownKeys(context, KNOWN_CONTEXT)) return undefined;
  const clusterName = context['cluster'];
  const userName = context['user'];
  if (typeof clusterName !== 'string' || typeof userName !== 'string') return undefined;
  const cluster = named(config['clusters'], clusterName, 'cluster');
  const user = named(config['users'], userName, 'user');
  if (cluster === undefined || user === undefined) return undefined;
  if (!onlyKnownKeys(cluster, KNOWN_CLUSTER) || !onlyKnownKeys(user, KNOWN_USER)) return undefined;

  const strings = {
    server: optionalString(cluster, 'server'),
    caFile: optionalString(cluster, 'certificate-authority'),
    caData: optionalString(cluster, 'certificate-authority-data'),
    servername: optionalString(cluster, 'tls-server-name'),
    token: optionalString(user, 'token'),
    certFile: optionalString(user, 'client-certificate'),
    certData: optionalString(user, 'client-certificate-data'),
    keyFile: optionalString(user, 'client-key'),
    keyData: optionalString(user, 'client-key-data'),
  };
  // A value of another type than string: client-node's reading of it is not worth predicting.
  if (Object.values(strings).some((v) => v === null)) return undefined;
  const skip = cluster['insecure-skip-tls-verify'];
  if (skip !== undefined && skip !== null && typeof skip !== 'boolean') return undefined;
  const { server, caFile, caData, servername, token, certFile, certData, keyFile, keyData } = strings as Record<keyof typeof strings, string | undefined>;
  // Plain HTTP: client-node refuses it unless TLS verification is off; left to it.
  if (server === undefined || !server.startsWith('https://')) return undefined;

  const directory = path.dirname(file);
  return {
    source: 'kubeconfig file',
    server: server.replace(/\/$/, ''),
    settings: () => {
      const settings: AccessSettings = {};
      const ca = fileOrData(caFile, caData, directory);
      const cert = fileOrData(certFile, certData, directory);
      const key = fileOrData(keyFile, keyData, directory);
      if (ca !== undefined) settings.ca = ca;
      if (cert !== undefined) settings.cert = cert;
      if (key !== undefined) settings.key = key;
      if (skip === true) settings.rejectUnauthorized = false;
      if (servername !== undefined) settings.servername = servername;
      if (token !== undefined) settings.token = token;
      return settings;
    },
  };
}

/** The pod's service account, as client-node's loadFromCluster reads it. */
function inCluster({ env, serviceAccountDir }: AccessEnvironment): ClusterAccess | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) return undefined;
  // client-node takes these ports for plain HTTP, and then refuses it: left to it.
  if (port === '80' || port === '8080' || port === '8001') return undefined;
  const tokenFile = path.join(serviceAccountDir, 'token');
  const caFile = path.join(serviceAccountDir, 'ca.crt');
  return {
    source: 'service account',
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    settings: () => ({ ca: readFileSync(caFile), token: readFileSync(tokenFile, 'utf8').trim() }),
  };
}

/**
 * The cluster access client-node's loadFromDefault would give, in the same order (KUBECONFIG, then
 * ~/.kube/config, then the service account), or undefined where client-node must decide.
 */
export function readClusterAccess(
  environment: AccessEnvironment = { env: process.env, serviceAccountDir: SERVICE_ACCOUNT_DIR },
): ClusterAccess | undefined {
  const { env } = environment;
  const kubeconfig = env['KUBECONFIG'];
  if (kubeconfig !== undefined && kubeconfig.length > 0) {
    const files = kubeconfig.split(path.delimiter).filter((f) => f !== '');
    // Several files are merged by client-node's rules: left to it.
    return files.length === 1 && files[0] !== undefined ? fromKubeconfig(files[0]) : undefined;
  }
  const home = env['HOME'];
  if (home !== undefined && home !== '') {
    const config = path.join(home, '.kube', 'config');
    if (existsSync(config)) return fromKubeconfig(config);
  }
  if (existsSync(path.join(environment.serviceAccountDir, 'token'))) return inCluster(environment);
  return undefined;
}
