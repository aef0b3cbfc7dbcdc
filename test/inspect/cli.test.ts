// `kubevirt-velero-plugin inspect` as a command: arguments, exit status, and bad input (not gzip, not a
// Velero backup, truncated, an item too large) answered with one line and no stack trace. The tar
// reader is fed an archive larger than memory could hold to show it streams.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InspectExit, parseInspectArgs, runInspect } from '../../src/inspect/cli.ts';
import { BLOCK, readTarStream } from '../../src/inspect/tar.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { loadScenario } from '../fixtures/scenarios.ts';
import { backupTarball } from './tarballs.ts';

async function inspect(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runInspect(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

function scratch(name: string, data: Buffer | string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kvp-inspect-bad-')), name);
  writeFileSync(path, data);
  return path;
}

function runnableBackup(): string {
  const s = loadScenario('v15-cluster-types-stopped');
  const secrets = ['fedora-web-userdata', 'fedora-web-netdata'].map((name): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'apps' } }));
  return backupTarball([s.vm, ...secrets, ...s.cluster]);
}

describe('arguments', () => {
  it.each([
    { args: [], error: 'which backup tarball?' },
    { args: ['a.tgz', 'b.tgz'], error: 'one backup tarball at a time' },
    { args: ['a.tgz', '--output', 'yaml'], error: '--output must be text or json' },
    { args: ['a.tgz', '--namespace-mappings', 'a=b'], error: '"a=b" is not SRC:DST' },
    { args: ['a.tgz', '--missing-revision-policy', 'maybe'], error: '--missing-revision-policy must be one of recreate, expand, fail' },
    { args: ['a.tgz', '--kubeconfig'], error: '--kubeconfig needs a value' },
    { args: ['a.tgz', '--frobnicate'], error: 'unknown option --frobnicate' },
  ])('$args -> $error', async ({ args, error }) => {
    const { code, err } = await inspect(...args);
    expect(code).toBe(InspectExit.badInput);
    expect(err).toContain(error);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('parses every option, inline values too', () => {
    expect(parseInspectArgs(['b.tgz', '--output=json', '--namespace-mappings', 'a:b,c:d', '--missing-revision-policy', 'fail', '--expand-vms', '--kubeconfig', '/k'])).toEqual({
      tarball: 'b.tgz',
      output: 'json',
      namespaceMapping: { a: 'b', c: 'd' },
      options: { missingRevisionPolicy: 'fail', expandVirtualMachines: true },
      cluster: { kind: 'kubeconfig', path: '/k' },
    });
  });
});

describe('bad input: one clear line, exit 2, never a stack trace', () => {
  const tarball = readFileSync(runnableBackup());
  it.each([
    { title: 'no such file', path: () => '/nonexistent/backup.tar.gz', error: 'no such file' },
    { title: 'a directory', path: () => tmpdir(), error: 'is a directory' },
    { title: 'not gzip', path: () => scratch('plain.txt', 'hello, I am not a backup\n'), error: 'not a gzip file' },
    { title: 'empty file', path: () => scratch('empty.tar.gz', ''), error: 'truncated gzip data' },
    { title: 'gzip, but not tar', path: () => scratch('text.gz', gzipSync('x'.repeat(2000))), error: 'not a tar archive' },
    { title: 'gzip cut in the middle', path: () => scratch('cut.tar.gz', tarball.subarray(0, Math.floor(tarball.length / 2))), error: 'truncated' },
    { title: 'a tar of something else', path: () => backupTarball([], { 'etc/motd': 'hello' }), error: 'not a Velero backup tarball' },
    {
      title: 'an item that is not JSON',
      path: () => backupTarball([], { 'metadata/version': '1', 'resources/virtualmachines.kubevirt.io/namespaces/a/b.json': '{nope' }),
      error: 'resources/virtualmachines.kubevirt.io/namespaces/a/b.json in the backup is not valid JSON',
    },
    {
      title: 'an item larger than any Kubernetes object',
      path: () => backupTarball([], { 'metadata/version': '1', 'resources/virtualmachines.kubevirt.io/namespaces/a/b.json': ' '.repeat(9 * 1024 * 1024) }),
      error: 'more than the 8388608 bytes any such item may have',
    },
  ])('$title', async ({ path, error }) => {
    const { code, out, err } = await inspect(path());
    expect(err).toContain(error);
    expect(code).toBe(InspectExit.badInput);
    expect(out).toBe('');
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});

describe('output and exit status', () => {
  it('text: one block per VM and a verdict; exit 0 when every VM would come back runnable', async () => {
    const { code, out } = await inspect(runnableBackup());
    expect(code).toBe(InspectExit.runnable);
    expect(out).toContain('VM apps/fedora-web');
    expect(out).toContain('verdict (missing-revision-policy=recreate): every VM would come back runnable');
  });

  it('json: the same report for scripts; exit 3 when a VM would not come back runnable', async () => {
    const s = loadScenario('v15-cluster-types-stopped');
    const path = backupTarball([s.vm, ...s.cluster.filter((o) => o.kind !== 'ControllerRevision')]);
    const { code, out } = await inspect(path, '--output', 'json', '--missing-revision-policy', 'fail');
    expect(code).toBe(InspectExit.notRunnable);
    const report = JSON.parse(out) as { allRunnable: boolean; vms: { name: string; selected: { result: string } }[] };
    expect(report.allRunnable).toBe(false);
    expect(report.vms.map((v) => `${v.name} ${v.selected.result}`)).toEqual(['fedora-web refused']);
  });

  it('an unreachable target cluster: exit 4 with one line', async () => {
    const kubeconfig = scratch(
      'kubeconfig',
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n',
    );
    const { code, err } = await inspect(runnableBackup(), '--kubeconfig', kubeconfig);
    expect(code).toBe(InspectExit.clusterError);
    expect(err).toMatch(/^kubevirt-velero-plugin inspect: cannot check the target cluster: /);
    expect(err.trim().split('\n')).toHaveLength(1);
  });
});

describe('the tar reader streams', () => {
  it('reads past a 2 GiB entry it does not want without holding it (heap and buffers stay small)', async () => {
    const size = 2 * 1024 ** 3;
    const header = (name: string, bytes: number): Buffer => {
      const h = Buffer.alloc(BLOCK);
      h.write(name, 0, 'utf8');
      h.write('0000644\0', 100);
      h.write('0000000\0', 108);
      h.write('0000000\0', 116);
      h.write(`${bytes.toString(8).padStart(11, '0')}\0`, 124);
      h.write('00000000000\0', 136);
      h.write('0', 156);
      h.write('ustar\x0000', 257);
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return h;
    };
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    async function* archive(): AsyncGenerator<Buffer> {
      yield header('resources/secrets/namespaces/a/big.json', size);
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
      const body = Buffer.from('{"metadata":{}}');
      yield header('metadata/version', body.length);
      yield Buffer.concat([body, Buffer.alloc(BLOCK - body.length)]);
      yield Buffer.alloc(2 * BLOCK);
    }
    const held = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const before = held();
    const seen: string[] = [];
    await readTarStream(archive(), (h) => ({ read: h.path === 'metadata/version', maxBytes: 1024 }), (h, body) => seen.push(`${h.path} ${h.size} ${body?.length ?? '-'}`));
    expect(seen).toEqual([`resources/secrets/namespaces/a/big.json ${size} -`, 'metadata/version 15 15']);
    expect(held() - before).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('the product binary', () => {
  const bin = join(process.cwd(), 'dist', 'kubevirt-velero-plugin');
  const runBinary = (args: string[], env: NodeJS.ProcessEnv = {}, timeout = 60_000) =>
    spawnSync(bin, args, { encoding: 'utf8', env: { PATH: process.env['PATH'], ...env }, timeout });

  it('runs inspect as its third mode: report on stdout, exit status as documented', () => {
    const ok = runBinary(['inspect', runnableBackup()]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(InspectExit.runnable);
    expect(ok.stdout).toContain('VM apps/fedora-web');
    const bad = runBinary(['inspect', scratch('junk.tar.gz', 'junk')]);
    expect(bad.status).toBe(InspectExit.badInput);
    expect(bad.stderr).toMatch(/^kubevirt-velero-plugin inspect: \S+\/junk\.tar\.gz: not a gzip file, or corrupt gzip data\n$/);
  });

  it('the go-plugin cookie still means plugin mode, whatever the arguments', () => {
    // In plugin mode the binary prints the go-plugin handshake line first and keeps serving: a short
    // timeout ends it; what matters is that it did not run inspect.
    const res = runBinary(['inspect', '/nonexistent'], { VELERO_PLUGIN: 'hello', KUBECONFIG: '/nonexistent' }, 3000);
    expect(res.stdout.split('\n')[0]).toMatch(/^\d+\|\d+\|unix\|/);
    expect(res.stderr).not.toContain('inspect:');
  });
});
