// The packaged plugin in Velero's image. Velero v1.13 - v1.18 run on Ubuntu jammy "tiny" images that
// hold only base-files, ca-certificates, libc6, libssl3, netbase, openssl, tzdata and zlib1g: no C++
// runtime, no shell. We assemble such a root from Debian's packages (Ubuntu's are out of reach here),
// once from bookworm (glibc 2.36, what this build host has) and once from bullseye (glibc 2.31,
// older than jammy's 2.35: a plugin that runs there needs nothing newer than jammy offers), and run:
//   1. the image's entrypoint as the image runs it (uid 65532, no shell): install mode into the plugin
//      volume;
//   2. the installed plugin as Velero's pod runs it (chroot, Velero's environment, LD_LIBRARY_PATH=/plugins):
//      handshake, ListPlugins, Execute, Shutdown, dialled from outside through the root's /tmp;
//   3. the same without the libraries, or without LD_LIBRARY_PATH: it must fail, or this test proves
//      nothing.
// Needs root (chroot). Uses the test build (npm run build:test) for its test actions.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../src/shared/json.ts';
import { hclogViolation } from '../host/emulator.ts';
import { launchInRoot, runInRoot, veleroPodEnv } from './chroot.ts';
import { BOOKWORM_VELERO_IMAGE, BULLSEYE_VELERO_IMAGE, type RootSpec, assembleRoot, debianPackages } from './rootfs.ts';

const BUILD_DIR = new URL('../../dist-test/', import.meta.url).pathname;
const PRODUCT_DIR = new URL('../../dist/', import.meta.url).pathname;
const EXECUTABLE = 'kubevirt-velero-plugin';
const LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1'];
const NONROOT = '65532:65532';

const vm = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'vm1', namespace: 'ns1', annotations: { 'test/additional': 'cm1' }, generation: 9007199254740993n },
  spec: { instancetype: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.medium' }, runStrategy: 'Always' },
};
const backup = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b1', namespace: 'velero' } };

let work: string;

beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('the Velero image test runs chroot and needs root');
  for (const dir of [BUILD_DIR, PRODUCT_DIR]) {
    for (const file of [EXECUTABLE, ...LIBRARIES]) {
      if (!fs.existsSync(path.join(dir, file))) throw new Error(`${dir}${file} is missing: run npm run build && npm run build:test first`);
    }
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvp-image-'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/**
 * The plugin image's files as its Dockerfile lays them, in their own directory that is also the
 * image's LD_LIBRARY_PATH (glibc does not find libraries through LD_LIBRARY_PATH=/).
 */
const IMAGE_DIR = '/opt/kubevirt-velero-plugin';

function layPluginImage(root: string, buildDir = BUILD_DIR): void {
  fs.mkdirSync(path.join(root, IMAGE_DIR), { recursive: true });
  for (const [file, mode] of [[EXECUTABLE, 0o755], ...LIBRARIES.map((l) => [l, 0o644] as const)] as const) {
    fs.copyFileSync(path.join(buildDir, file), path.join(root, IMAGE_DIR, file));
    fs.chmodSync(path.join(root, IMAGE_DIR, file), mode);
  }
}

/** The init container of `velero plugin add`: the image entrypoint, as uid 65532, into the shared volume. */
function runImageEntrypoint(root: string) {
  // An emptyDir volume is world-writable.
  fs.chmodSync(path.join(root, 'plugins'), 0o777);
  return runInRoot(root, [`${IMAGE_DIR}/${EXECUTABLE}`, 'install', '/plugins'], { LD_LIBRARY_PATH: IMAGE_DIR }, NONROOT);
}

describe.each([BOOKWORM_VELERO_IMAGE, BULLSEYE_VELERO_IMAGE])('Velero image packages from Debian $suite (glibc $glibc)', (spec: RootSpec) => {
  let root: string;
  beforeAll(() => {
    root = assembleRoot(spec, work);
    layPluginImage(root);
  });

  it('has no C++ runtime of its own (the plugin depends on the libraries it brings)', () => {
    const found = execFileSync('find', [root, '-name', 'libstdc++*', '-o', '-name', 'libgcc_s*'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '' && path.dirname(f) !== path.join(root, IMAGE_DIR));
    expect(found).toEqual([]);
  });

  it('the image entrypoint installs the plugin into the plugin volume as uid 65532, without a shell', () => {
    const run = runImageEntrypoint(root);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const installed = fs.readdirSync(path.join(root, 'plugins')).sort();
    expect(installed).toEqual([EXECUTABLE, ...LIBRARIES].sort());
    for (const file of installed) {
      const stat = fs.lstatSync(path.join(root, 'plugins', file));
      expect({ file, regular: stat.isFile(), mode: stat.mode & 0o7777, uid: stat.uid }).toEqual({
        file,
        regular: true,
        mode: file === EXECUTABLE ? 0o755 : 0o644,
        uid: 65532,
      });
    }
  });

  it('Velero starts the installed plugin: handshake, ListPlugins, Execute and Shutdown succeed from outside', async () => {
    expect(runImageEntrypoint(root).status).toBe(0);
    const plugin = await launchInRoot(root, `/plugins/${EXECUTABLE}`, veleroPodEnv());
    try {
      expect(plugin.handshake).toMatch(/^1\|2\|unix\|\/tmp\/[^|]+\|grpc\|$/);
      expect(fs.existsSync(plugin.socketPath)).toBe(true);

      const listed = await plugin.call<{ plugins: { command: string; kind: string; name: string }[] }>('generated.PluginLister', 'ListPlugins', {});
      expect(listed.plugins).toContainEqual({ command: `/plugins/${EXECUTABLE}`, kind: 'BackupItemAction', name: 'test.kubevirt.io/echo-backup' });

      const executed = await plugin.call<{ item: Buffer; additionalItems: unknown[] }>('generated.BackupItemAction', 'Execute', {
        plugin: 'test.kubevirt.io/echo-backup',
        item: Buffer.from(stringifyJson(vm)),
        backup: Buffer.from(stringifyJson(backup)),
      });
      expect(parseJson(executed.item.toString())).toEqual(vm);
      expect(executed.additionalItems).toEqual([{ group: '', resource: 'configmaps', namespace: 'ns1', name: 'cm1' }]);
    } finally {
      await plugin.shutdown();
    }
    // Exited by itself on Shutdown, not killed by the emulator's 2 s SIGKILL (Velero's too).
    expect(plugin.exitCode).toBe(0);
    expect(fs.existsSync(plugin.socketPath)).toBe(false);
    expect(plugin.stdoutAfterHandshake).toBe('');
    const notHclog = plugin.stderrLines.filter((l) => l !== '' && hclogViolation(l) !== undefined);
    expect(notHclog).toEqual([]);
  });

  it('the product binary (dist/) starts there too and lists the KubeVirt actions under the reference names', async () => {
    const productRoot = assembleRoot(spec, work);
    layPluginImage(productRoot, PRODUCT_DIR);
    expect(runImageEntrypoint(productRoot).status).toBe(0);
    const plugin = await launchInRoot(productRoot, `/plugins/${EXECUTABLE}`, veleroPodEnv());
    try {
      const listed = await plugin.call<{ plugins: { command: string; kind: string; name: string }[] }>('generated.PluginLister', 'ListPlugins', {});
      expect(listed.plugins.length).toBeGreaterThan(0);
      for (const p of listed.plugins) {
        expect(p.command).toBe(`/plugins/${EXECUTABLE}`);
        expect(p.name).toMatch(/^kubevirt-velero-plugin\/[a-z0-9-]+$/);
      }
    } finally {
      await plugin.shutdown();
    }
    expect(plugin.stderrLines.filter((l) => l !== '' && hclogViolation(l) !== undefined)).toEqual([]);
  });

  it.each([
    { without: 'the two libraries', remove: LIBRARIES, env: {}, error: /libstdc\+\+\.so\.6: cannot open shared object file/ },
    { without: 'LD_LIBRARY_PATH=/plugins', remove: [], env: { LD_LIBRARY_PATH: '' }, error: /libstdc\+\+\.so\.6: cannot open shared object file/ },
  ])('fails to start without $without', ({ remove, env, error }) => {
    expect(runImageEntrypoint(root).status).toBe(0);
    for (const lib of remove) fs.rmSync(path.join(root, 'plugins', lib));
    const run = runInRoot(root, [`/plugins/${EXECUTABLE}`, '--log-level=debug'], veleroPodEnv(env));
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(error);
    expect(run.status).toBe(127);
  });
});

describe("why the build does not ship Debian bookworm's C++ runtime", () => {
  it('bookworm libstdc++/libgcc_s need a newer glibc than 2.31 and the plugin does not start with them', () => {
    const root = assembleRoot(BULLSEYE_VELERO_IMAGE, work);
    layPluginImage(root);
    expect(runImageEntrypoint(root).status).toBe(0);
    const extracted = fs.mkdtempSync(path.join(work, 'bookworm-libs-'));
    const debs = debianPackages({ suite: 'bookworm', glibc: '2.36', packages: ['libstdc++6', 'libgcc-s1'] });
    for (const deb of debs) execFileSync('dpkg-deb', ['-x', deb, extracted]);
    for (const lib of LIBRARIES) {
      const candidates = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu'].map((d) => path.join(extracted, d, lib));
      const found = candidates.find((c) => fs.existsSync(c));
      if (!found) throw new Error(`${lib} not in bookworm packages`);
      fs.copyFileSync(found, path.join(root, 'plugins', lib));
    }
    const run = runInRoot(root, [`/plugins/${EXECUTABLE}`], veleroPodEnv());
    // arc4random (GLIBC_2.36) in libstdc++, _dl_find_object (GLIBC_2.35) in libgcc_s: jammy has 2.35.
    expect(run.stderr).toMatch(/version `GLIBC_2\.3[56]' not found/);
    expect(run.status).not.toBe(0);
  });
});
