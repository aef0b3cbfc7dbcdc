// The plugin's own reading of KUBECONFIG / ~/.kube/config / the service account, held side by side
// with @kubernetes/client-node's (loadFromFile / loadFromCluster + applyToHTTPSOptions): for every
// configuration it reads, both must give the same server, TLS settings and Authorization header; every
// other configuration it must leave to client-node.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { readClusterAccess, type AccessSettings } from '../../src/kube/cluster-access.ts';

const root = mkdtempSync(join(tmpdir(), 'kvp-access-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function dir(): string {
  const d = join(root, String(n++));
  mkdirSync(d, { recursive: true });
  return d;
}
const NO_SERVICE_ACCOUNT = join(root, 'no-service-account');
const b64 = (text: string) => Buffer.from(text).toString('base64');

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'other', cluster: { server: 'https://wrong:1' } }, { name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'velero' } }],
    'current-context': 'x',
    ...extra,
  };
}

/** What client-node's agent and headers carry, in the shape of our settings. */
async function clientNodeSettings(kc: KubeConfig): Promise<{ server: string | undefined; settings: AccessSettings }> {
  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const agent = (options.agent as unknown as { options: Record<string, unknown> }).options;
  const settings: AccessSettings = {};
  for (const key of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) {
    if (agent[key] !== undefined) (settings as Record<string, unknown>)[key] = agent[key];
  }
  const authorization = (options.headers as Record<string, string> | undefined)?.['Authorization'];
  if (authorization !== undefined) settings.token = authorization.replace(/^Bearer /, '');
  return { server: kc.getCurrentCluster()?.server, settings };
}

describe('a kubeconfig file: read as client-node reads it', () => {
  const CASES: [string, (d: string) => Record<string, unknown>][] = [
    ['token, CA inline, server with a trailing slash', () =>
      kubeconfig({ server: 'https://10.0.0.1:6443/', 'certificate-authority-data': b64('CA-PEM') }, { token: 'abc.def' })],
    ['client certificate and key inline, CA as a file relative to the kubeconfig', (d) => {
      writeFileSync(join(d, 'ca.crt'), 'CA-FROM-FILE');
      return kubeconfig({ server: 'https://api.example:443', 'certificate-authority': 'ca.crt' },
        { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') });
    }],
    ['client certificate and key as absolute files, skip TLS verify, TLS server name', (d) => {
      writeFileSync(join(d, 'c.pem'), 'CERT-FILE');
      writeFileSync(join(d, 'k.pem'), 'KEY-FILE');
      return kubeconfig({ server: 'https://api:6443', 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes.default' },
        { 'client-certificate': join(d, 'c.pem'), 'client-key': join(d, 'k.pem') });
    }],
    ['skip TLS verify false, no credentials at all', () => kubeconfig({ server: 'https://api:6443', 'insecure-skip-tls-verify': false }, {})],
    ['JSON (valid YAML), as some tools write it, with extensions', () =>
      kubeconfig({ server: 'https://api:6443', extensions: [{ name: 'e', extension: {} }] }, { token: 't' }, { preferences: {} })],
  ];
  for (const [title, make] of CASES) {
    it(title, async () => {
      const d = dir();
      const file = join(d, 'config');
      writeFileSync(file, title.startsWith('JSON') ? JSON.stringify(make(d)) : dump(make(d)));
      const ours = readClusterAccess({ env: { KUBECONFIG: file }, serviceAccountDir: NO_SERVICE_ACCOUNT });
      if (ours === undefined) throw new Error('not read');
      const kc = new KubeConfig();
      kc.loadFromFile(file);
      const theirs = await clientNodeSettings(kc);
      expect(ours.server).toBe(theirs.server);
      expect(ours.settings()).toEqual(theirs.settings);
      expect(ours.source).toBe('kubeconfig file');
    });
  }

  it('~/.kube/config when KUBECONFIG is not set (or empty), as client-node', () => {
    const home = dir();
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), dump(kubeconfig({ server: 'https://home:6443' }, { token: 'h' })));
    for (const env of [{ HOME: home }, { HOME: home, KUBECONFIG: '' }]) {
      expect(readClusterAccess({ env, serviceAccountDir: NO_SERVICE_ACCOUNT })?.server).toBe('https://home:6443');
    }
  });
});

describe('what is left to client-node', () => {
  const LEFT: [string, Record<string, unknown>][] = [
    ['an exec credential plugin', kubeconfig({ server: 'https://a' }, { exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1' } })],
    ['an auth provider', kubeconfig({ server: 'https://a' }, { 'auth-provider': { name: 'oidc', config: {} } })],
    ['basic auth', kubeconfig({ server: 'https://a' }, { username: 'u', password: 'p' })],
    ['a token file', kubeconfig({ server: 'https://a' }, { 'token-file': '/t' })],
    ['impersonation', kubeconfig({ server: 'https://a' }, { token: 't', as: 'admin' })],
    ['a proxy', kubeconfig({ server: 'https://a', 'proxy-url': 'http://proxy:3128' }, { token: 't' })],
    ['an unknown cluster key', kubeconfig({ server: 'https://a', 'disable-compression': true }, { token: 't' })],
    ['an unknown top-level key', kubeconfig({ server: 'https://a' }, { token: 't' }, { surprise: 1 })],
    ['no current context', kubeconfig({ server: 'https://a' }, { token: 't' }, { 'current-context': '' })],
    ['a current context that is not defined', kubeconfig({ server: 'https://a' }, { token: 't' }, { 'current-context': 'nope' })],
    ['a cluster without a server', kubeconfig({ 'certificate-authority-data': b64('x') }, { token: 't' })],
    ['a plain-HTTP server', kubeconfig({ server: 'http://a:8080', 'insecure-skip-tls-verify': true }, { token: 't' })],
    ['a token that is not a string', kubeconfig({ server: 'https://a' }, { token: 12345 })],
    ['insecure-skip-tls-verify that is not a boolean', kubeconfig({ server: 'https://a', 'insecure-skip-tls-verify': 'true' }, { token: 't' })],
  ];
  for (const [title, config] of LEFT) {
    it(title, () => {
      const file = join(dir(), 'config');
      writeFileSync(file, dump(config));
      expect(readClusterAccess({ env: { KUBECONFIG: file }, serviceAccountDir: NO_SERVICE_ACCOUNT })).toBeUndefined();
    });
  }

  it('several KUBECONFIG files (merged by client-node\'s rules)', () => {
    const a = join(dir(), 'a');
    writeFileSync(a, dump(kubeconfig({ server: 'https://a' }, { token: 't' })));
    expect(readClusterAccess({ env: { KUBECONFIG: `${a}:${a}` }, serviceAccountDir: NO_SERVICE_ACCOUNT })).toBeUndefined();
  });

  it('nothing configured at all (client-node then falls back to localhost:8080, which the client refuses)', () => {
    expect(readClusterAccess({ env: { HOME: dir() }, serviceAccountDir: NO_SERVICE_ACCOUNT })).toBeUndefined();
  });
});

describe('the pod\'s service account: read as client-node\'s loadFromCluster reads it', () => {
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
  afterEach(() => {
    for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  function serviceAccount(token: string): { prefix: string; dir: string } {
    const prefix = dir();
    const sa = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), token);
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER-CA');
    return { prefix, dir: sa };
  }

  for (const [host, port] of [['10.96.0.1', '443'], ['fd00::1', '443'], ['kubernetes.default.svc', '6443']] as const) {
    it(`KUBERNETES_SERVICE_HOST=${host} PORT=${port}`, async () => {
      const sa = serviceAccount('sa-token');
      process.env['KUBERNETES_SERVICE_HOST'] = host;
      process.env['KUBERNETES_SERVICE_PORT'] = port;
      const ours = readClusterAccess({ env: { HOME: dir(), KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: sa.dir });
      if (ours === undefined) throw new Error('not read');
      const kc = new KubeConfig();
      kc.loadFromCluster(sa.prefix);
      const theirs = await clientNodeSettings(kc);
      expect(ours.server).toBe(theirs.server);
      expect(ours.settings()).toEqual(theirs.settings);
      expect(ours.source).toBe('service account');
    });
  }

  it('reads the token again on every call (kubelet rotates a projected token on disk); trims a trailing newline, which client-node would send', () => {
    const sa = serviceAccount('first\n');
    const ours = readClusterAccess({ env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa.dir });
    expect(ours?.settings().token).toBe('first');
    writeFileSync(join(sa.dir, 'token'), 'rotated');
    expect(ours?.settings().token).toBe('rotated');
  });

  it('a token file without the service host variables, or a plain-HTTP port, is left to client-node', () => {
    const sa = serviceAccount('t');
    expect(readClusterAccess({ env: {}, serviceAccountDir: sa.dir })).toBeUndefined();
    for (const port of ['80', '8080', '8001']) {
      expect(readClusterAccess({ env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: sa.dir })).toBeUndefined();
    }
  });
});
