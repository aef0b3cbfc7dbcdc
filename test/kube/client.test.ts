// KubeClient's own guarantees, independent of Kubernetes semantics (those are checked against a real
// kube-apiserver in e2e/backup-api.test.ts): every request has a deadline, failures name the object,
// names from objects never reach a path unchecked, requests are counted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { KubeClient } from '../../src/kube/client.ts';
import { userAgent } from '../../src/kube/user-agent.ts';

let server: http.Server;
let base = '';
const seen: string[] = [];
const userAgents: (string | undefined)[] = [];
const accepts: (string | undefined)[] = [];
const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const SECRET_DATA = { password: Buffer.from('do-not-leak').toString('base64') };

/**
 * Secrets under /namespaces/meta/: as kube-apiserver answers them, metadata only when the Accept header
 * asks for it (name "ignores-accept": a server that sends the whole Secret whatever was asked).
 */
function secretAnswer(req: http.IncomingMessage): unknown {
  const name = /\/secrets\/([^/?]+)/.exec(req.url ?? '')?.[1];
  const metadata = { name: name ?? 's1', namespace: 'meta', uid: 'u-1', resourceVersion: '7' };
  if (name === undefined) {
    if (req.headers.accept === METADATA_LIST_ACCEPT) {
      return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadataList', metadata: {}, items: [{ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata }] };
    }
    return { apiVersion: 'v1', kind: 'SecretList', metadata: {}, items: [{ metadata, data: SECRET_DATA }] };
  }
  if (req.headers.accept === METADATA_ACCEPT && name !== 'ignores-accept') return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata };
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', data: SECRET_DATA };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['authorization'] ?? ''}`);
    userAgents.push(req.headers['user-agent']);
    accepts.push(req.headers.accept);
    if (req.url?.includes('/namespaces/meta/secrets')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(secretAnswer(req)));
      return;
    }
    if (req.url?.includes('/hang')) return; // never answers
    if (req.url?.includes('forbidden')) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', message: 'virtualmachines.kubevirt.io "forbidden" is forbidden: User "velero" cannot get resource' }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', message: 'not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(timeoutMs = 300): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: base, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new KubeClient({ kubeConfig: kc, timeoutMs });
}

const vm = (name: string) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'ns', name });

describe('KubeClient', () => {
  it('a request the API server never answers fails after the deadline, naming the object', async () => {
    const started = Date.now();
    await expect(client(300).get({ ...vm('x'), namespace: 'hang' })).rejects.toThrow(
      'GET VirtualMachine hang/x: no answer from the API server within 300 ms',
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('404 is "does not exist", not an error', async () => {
    expect(await client().get(vm('missing'))).toBeUndefined();
  });

  it('other statuses fail with the verb, the object and the API server message', async () => {
    await expect(client().get(vm('forbidden'))).rejects.toThrow(
      'GET VirtualMachine ns/forbidden: HTTP 403: virtualmachines.kubevirt.io "forbidden" is forbidden',
    );
  });

  it('sends the token and the resource path of the kind', async () => {
    seen.length = 0;
    await client().get(vm('path-check'));
    expect(seen).toEqual(['GET /apis/kubevirt.io/v1/namespaces/ns/virtualmachines/path-check Bearer secret-token']);
  });

  it('names the plugin and its package.json version in the User-Agent of every request, as client-go programs do', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    userAgents.length = 0;
    const c = client();
    await c.get(vm('ua-get'));
    await c.list({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'ns' }).catch(() => undefined);
    await c.strategicMergePatch({ apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: 'ns', name: 'r' }, {}).catch(() => undefined);
    expect(userAgents).toHaveLength(3);
    for (const ua of userAgents) expect(ua).toBe(`kubevirt-velero-plugin/${version} (linux/amd64) node/${process.version}`);
  });

  it("the User-Agent uses Go's architecture names, so it reads like client-go's", () => {
    expect(userAgent('1.2.3', 'linux', 'arm64')).toMatch(/^kubevirt-velero-plugin\/1\.2\.3 \(linux\/arm64\) node\/v/);
    expect(userAgent('1.2.3', 'linux', 'x64')).toContain('(linux/amd64)');
  });

  it('refuses names that are not Kubernetes names before any request', async () => {
    seen.length = 0;
    const c = client();
    await expect(c.get(vm('../../secrets'))).rejects.toThrow('invalid VirtualMachine name "../../secrets"');
    await expect(c.get({ ...vm('x'), namespace: 'a/b' })).rejects.toThrow('invalid namespace name "a/b"');
    expect(seen).toEqual([]);
    expect(c.counts.total).toBe(0);
  });

  it('counts requests by verb', async () => {
    const c = client();
    await c.get(vm('a'));
    await c.get(vm('b'));
    await expect(c.list({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'ns' })).rejects.toThrow(
      'LIST persistentvolumeclaims in namespace ns: HTTP 404',
    );
    expect(c.counts).toMatchObject({ total: 3, get: 2, list: 1 });
  });

  it('the per-backup view is the same for one backup UID and new for another', () => {
    const c = client();
    expect(c.scoped('uid-1')).toBe(c.scoped('uid-1'));
    expect(c.scoped('uid-2')).not.toBe(c.scoped('uid-1'));
  });

  describe('metadata-only reads (existence checks that must not receive a Secret\'s data)', () => {
    const secret = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', namespace: 'meta', name });

    it('getMetadata asks for PartialObjectMetadata and returns the metadata alone', async () => {
      accepts.length = 0;
      const c = client();
      const found = await c.getMetadata(secret('s1'));
      expect(accepts).toEqual([METADATA_ACCEPT]);
      expect(found).toEqual({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 's1', namespace: 'meta', uid: 'u-1', resourceVersion: '7' } });
      expect(JSON.stringify(found)).not.toContain(SECRET_DATA.password);
      expect(c.counts).toMatchObject({ total: 1, get: 1 });
    });

    it('a plain get still asks for (and gets) the whole object', async () => {
      accepts.length = 0;
      expect(await client().get(secret('s1'))).toMatchObject({ kind: 'Secret', data: SECRET_DATA });
      expect(accepts).toEqual(['application/json']);
    });

    it('listMetadata asks for PartialObjectMetadataList and returns metadata-only items', async () => {
      accepts.length = 0;
      const items = await client().listMetadata({ apiVersion: 'v1', kind: 'Secret', namespace: 'meta' });
      expect(accepts).toEqual([METADATA_LIST_ACCEPT]);
      expect(items).toEqual([{ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 's1', namespace: 'meta', uid: 'u-1', resourceVersion: '7' } }]);
    });

    it('a patch that asks for metadata only sends that Accept and returns the metadata alone; a plain patch asks for the object', async () => {
      accepts.length = 0;
      const c = client();
      const answered = await c.strategicMergePatch(secret('s1'), { metadata: { labels: { a: 'b' } } }, { answerMetadataOnly: true });
      expect(answered).toEqual({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 's1', namespace: 'meta', uid: 'u-1', resourceVersion: '7' } });
      expect(await c.strategicMergePatch(secret('s1'), {})).toMatchObject({ kind: 'Secret' });
      expect(accepts).toEqual([METADATA_ACCEPT, 'application/json']);
      await expect(c.strategicMergePatch(secret('ignores-accept'), {}, { answerMetadataOnly: true })).rejects.toThrow('did not answer with metadata only');
    });

    it('an answer with the whole object is refused, and the error shows none of its content', async () => {
      const error = await client().getMetadata(secret('ignores-accept')).then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe('Secret meta/ignores-accept: the API server did not answer with metadata only (it sent kind "Secret")');
      expect((error as Error).message).not.toContain(SECRET_DATA.password);
    });

    it('404 is "does not exist"; a request never answered fails at the deadline like every call', async () => {
      expect(await client().getMetadata(vm('missing'))).toBeUndefined();
      await expect(client(300).getMetadata({ ...vm('x'), namespace: 'hang' })).rejects.toThrow('GET VirtualMachine hang/x: no answer from the API server within 300 ms');
    });
  });
});
