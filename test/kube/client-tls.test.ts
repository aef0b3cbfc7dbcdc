// KubeClient over TLS, the way it talks to a real API server: requests share kept-alive connections
// (client-node's own agent would open a new TCP + TLS connection per request).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';

let server: https.Server;
let base = '';
let ca = '';
let handshakes = 0;
let requests = 0;

beforeAll(async () => {
  // A self-signed certificate for 127.0.0.1, made by the openssl CLI (part of the build image).
  const dir = mkdtempSync(join(tmpdir(), 'kvp-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (_req, res) => {
      requests++;
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
});
