// The real Velero server discovers the packaged plugin inside a root made of Velero's image packages
// (see velero-image.test.ts for the root and the image entrypoint). Velero's start-up runs every plugin
// binary in --plugin-dir, calls ListPlugins and registers each name, and aborts on any failure; all of
// that happens before its first API call, so a kube-apiserver is not needed: pointed at a closed port,
// a healthy start-up gets past discovery and then fails on the API, an unhealthy one fails at discovery.
// An e2e test (it needs the velero binary that e2e/build-components.sh builds); needs root (chroot).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binary } from '../../e2e/harness/components.ts';
import { ActionNames } from '../../src/kubevirt/constants.ts';
import { runInRoot, veleroPodEnv } from './chroot.ts';
import { BOOKWORM_VELERO_IMAGE, BULLSEYE_VELERO_IMAGE, type RootSpec, assembleRoot } from './rootfs.ts';

const PRODUCT_DIR = new URL('../../dist/', import.meta.url).pathname;
const EXECUTABLE = 'kubevirt-velero-plugin';
const LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1'];
const IMAGE_DIR = '/opt/kubevirt-velero-plugin';

let work: string;

/**
 * A port nothing listens on. A port bound and released at random can be taken by another process on a
 * busy machine (the first API call then gets EOF instead of "connection refused"); port 1 (tcpmux) is
 * never served here.
 */
const closedPort = 1;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('this test runs chroot and needs root');
  for (const file of [EXECUTABLE, ...LIBRARIES]) {
    if (!fs.existsSync(path.join(PRODUCT_DIR, file))) throw new Error(`${PRODUCT_DIR}${file} is missing: run npm run build first`);
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvp-velero-image-'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A Velero pod's root: image packages, velero at /velero, our plugin installed by the image entrypoint. */
function veleroRoot(spec: RootSpec): string {
  const root = assembleRoot(spec, work);
  fs.copyFileSync(binary('velero'), path.join(root, 'velero'));
  fs.chmodSync(path.join(root, 'velero'), 0o755);
  fs.mkdirSync(path.join(root, IMAGE_DIR), { recursive: true });
  for (const file of [EXECUTABLE, ...LIBRARIES]) fs.copyFileSync(path.join(PRODUCT_DIR, file), path.join(root, IMAGE_DIR, file));
  fs.chmodSync(path.join(root, IMAGE_DIR, EXECUTABLE), 0o755);
  fs.chmodSync(path.join(root, 'plugins'), 0o777);
  const install = runInRoot(root, [`${IMAGE_DIR}/${EXECUTABLE}`, 'install', '/plugins'], { LD_LIBRARY_PATH: IMAGE_DIR }, '65532:65532');
  if (install.status !== 0) throw new Error(`image entrypoint failed: ${install.stderr}`);
  fs.writeFileSync(
    path.join(root, 'kubeconfig'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${closedPort}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'unused' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'velero' } }],
      'current-context': 'c',
    }),
  );
  return root;
}

function veleroServer(root: string, env: Record<string, string>) {
  // Velero re-executes itself (os.Args[0]) for its built-in plugins: start it by its path in the root.
  return runInRoot(
    root,
    [
      '/velero', 'server', '--kubeconfig=/kubeconfig', '--namespace=velero', '--plugin-dir=/plugins', '--log-level=debug',
      '--uploader-type=kopia', '--metrics-address=127.0.0.1:0', '--profiler-address=',
    ],
    env,
  );
}

/** Names Velero logged as registered from our binary. */
function registered(log: string): string[] {
  return [...log.matchAll(/msg="registering plugin" command=\/plugins\/kubevirt-velero-plugin kind=(\S+) .*? name=(\S+)/g)]
    .map((m) => m[2]!)
    .sort();
}

describe.each([BOOKWORM_VELERO_IMAGE, BULLSEYE_VELERO_IMAGE])('velero server in a root of Debian $suite packages (glibc $glibc)', (spec) => {
  let root: string;
  beforeAll(() => {
    root = veleroRoot(spec);
  });

  it('discovers and registers every action of the installed plugin, skipping the libraries, then reaches the API', () => {
    const run = veleroServer(root, veleroPodEnv({ HOME: '/tmp' }));
    const log = run.stdout + run.stderr;
    expect(registered(log)).toEqual(Object.values(ActionNames).sort());
    for (const lib of LIBRARIES) expect(log).toContain(`skip file ${lib}, not executable, mode -rw-r--r--`);
    // Past discovery: the first API call fails on the closed port, nothing before it.
    expect(log).toMatch(new RegExp(`An error occurred: .*127\\.0\\.0\\.1:${closedPort}.*connection refused`));
    expect(run.status).toBe(1);
  });

  it('aborts its start-up at plugin discovery when LD_LIBRARY_PATH=/plugins is missing', () => {
    const run = veleroServer(root, veleroPodEnv({ HOME: '/tmp', LD_LIBRARY_PATH: '' }));
    const log = run.stdout + run.stderr;
    expect(log).toMatch(/An error occurred: Unrecognized remote plugin message/);
    expect(log).toMatch(/Path: \/plugins\/kubevirt-velero-plugin/);
    expect(registered(log)).toEqual([]);
    expect(run.status).toBe(1);
  });
});
