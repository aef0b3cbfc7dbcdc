// KubeClient over TLS, the way it talks to a real API server: requests share kept-alive connections
// (client-node's own agent would open a new TCP + TLS connection per request).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { KubeClient } from '../../src/kube/client.ts';

let server: https.Server;
let base = '';
let ca = '';
let handshakes = 0;
let requests = 0;
const authorizations: (string | undefined)[] = [];

beforeAll(async () => {
  // A self-signed certificate for 127.0.0.1, made by the openssl CLI (part of the build image).
  const dir = mkdtempSync(join(tmpdir(), 'kvp-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (req, res) => {
      requests++;
      authorizations.push(req.headers.authorization);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', message: 'not found' }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('KubeClient over TLS', () => {
  it('keeps its connection to the API server alive across requests (one TLS handshake for many requests)', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: base, caData: Buffer.from(ca).toString('base64') }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const client = new KubeClient({ kubeConfig: kc });
    for (let i = 0; i < 10; i++) {
      expect(await client.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'ns', name: `vm-${i}` })).toBeUndefined();
    }
    expect(requests).toBe(10);
    expect(handshakes).toBe(1);
  });

  it('reads KUBECONFIG without client-node: verifies the server against its CA and sends its token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvp-kubeconfig-'));
    const saved = process.env['KUBECONFIG'];
    try {
      const write = (caPem: string) => {
        const file = join(dir, 'config');
        writeFileSync(file, dump({
          apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
          clusters: [{ name: 'c', cluster: { server: base, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
          users: [{ name: 'u', user: { token: 'plain-token' } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        }));
        return file;
      };
      process.env['KUBECONFIG'] = write(ca);
      const client = new KubeClient();
      const before = authorizations.length;
      expect(await client.get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'ns', name: 'vm' })).toBeUndefined();
      expect(authorizations.slice(before)).toEqual(['Bearer plain-token']);
      expect(client.configSource).toBe('kubeconfig file');

      // Another CA: the server's certificate is refused, so the CA of the file is what was checked.
      const otherCa = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'other-key.pem')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      process.env['KUBECONFIG'] = write(otherCa);
      await expect(new KubeClient().get({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'ns', name: 'vm' }))
        .rejects.toThrow(/certificate/);
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
