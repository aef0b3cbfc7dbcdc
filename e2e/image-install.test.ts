// The plugin image installed the way Velero users install it, through a container API (podman's
// Docker-compatible service, driven by testcontainers; e2e/containers/services.sh starts it):
//   1. the multi-arch OCI archive of `npm run image` is pushed to a local registry;
//   2. `velero plugin add 127.0.0.1:PORT/kubevirt-velero-plugin:TAG` edits Velero's Deployment;
//   3. the init container Velero added is run exactly as written there (image, mount path, a 0777
//      directory like an emptyDir), as the kubelet would: it installs the plugin;
//   4. a real Velero server, in a container whose root holds only the packages of Velero's runtime
//      image (no libstdc++), loads the plugin from that directory, and a VM with instance types
//      round-trips through backup and restore;
//   5. the arm64 binary of the same image serves a handshake, ListPlugins and an Execute under
//      qemu-aarch64-static in an arm64 root of the same packages.
// Without a container API (DOCKER_HOST unset or not answering) the file is skipped with one line.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GenericContainer, Wait } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionNames } from '../src/kubevirt/constants.ts';
import { parseJson, stringifyJson } from '../src/shared/json.ts';
import type { JsonObject, KubeObject } from '../src/velero/types.ts';
import { launchInRoot, runInRoot, veleroPodEnv } from '../test/packaging/chroot.ts';
import { BULLSEYE_VELERO_IMAGE, assembleRoot } from '../test/packaging/rootfs.ts';
import { createNamespace, createVmLikeKubeVirt, INSTANCETYPE_API_VERSION, instancetype, preference, virtualMachine } from './fixtures/kubevirt.ts';
import { waitFor } from './harness/process.ts';
import { useControlPlane, useVelero } from './harness/setup.ts';
import { makePluginDir, statusOf } from './harness/velero.ts';

const repo = new URL('../', import.meta.url).pathname;
const version = (JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const ARCHIVE = path.join(repo, 'dist', 'image', `kubevirt-velero-plugin-${version}.oci.tar`);
const EXECUTABLE = 'kubevirt-velero-plugin';
const LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1'];
const IMAGE_DIR = '/opt/kubevirt-velero-plugin';

/** Whether a Docker-compatible API answers at DOCKER_HOST (unix socket or tcp). */
function containerApiAnswers(): boolean {
  const host = process.env['DOCKER_HOST'];
  if (host === undefined || host === '') return false;
  const args = host.startsWith('unix://')
    ? ['--unix-socket', host.slice('unix://'.length), 'http://localhost/_ping']
    : [`${host.replace(/^tcp:/, 'http:')}/_ping`];
  return spawnSync('curl', ['-sf', '--max-time', '5', ...args], { stdio: 'ignore' }).status === 0;
}

const containerApi = containerApiAnswers();
if (!containerApi) {
  process.stderr.write(`e2e/image-install.test.ts skipped: no container API answers at DOCKER_HOST=${process.env['DOCKER_HOST'] ?? '(unset)'} ` +
    '(start one: eval "$(bash e2e/containers/services.sh start)")\n');
}

function sh(cmd: string, args: string[], timeout = 300_000): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout, maxBuffer: 64 << 20 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

/** Velero's image packages (bullseye: glibc 2.31, older than jammy's 2.35) as a container image. */
function veleroRuntimeImage(work: string): string {
  const name = 'localhost/kvp-e2e/velero-runtime-root:bullseye';
  const exists = spawnSync('podman', ['image', 'exists', name]).status === 0;
  if (!exists) {
    const root = assembleRoot(BULLSEYE_VELERO_IMAGE, work);
    sh('bash', ['-c', `tar --numeric-owner -C "$0" -c . | podman import -q - "$1"`, root, name]);
    fs.rmSync(root, { recursive: true, force: true });
  }
  return name;
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

describe.skipIf(!containerApi)('the plugin image, installed with velero plugin add', () => {
  const env = useControlPlane({ controllerManager: true });
  const registry = process.env['KVP_E2E_REGISTRY'] ?? '';
  const tag = `e2e-${randomBytes(4).toString('hex')}`;
  // Registry, an organisation, the name: Velero names the init container after the path without the
  // registry only when the path has two segments (see the test below for one segment with a port).
  const image = `${registry}/kubevirt/kubevirt-velero-plugin:${tag}`;
  const veleroContainer = `kvp-e2e-velero-${tag}`;
  const work = containerApi ? fs.mkdtempSync(path.join(os.tmpdir(), 'kvp-e2e-image-')) : '';
  // Velero's plugins volume: an emptyDir, writable by any uid (the init container runs as 65532).
  const pluginDir = containerApi ? fs.mkdtempSync(path.join(os.tmpdir(), 'kvp-e2e-plugins-volume-')) : '';
  let runtimeImage = '';

  beforeAll(async () => {
    if (registry === '') throw new Error('KVP_E2E_REGISTRY is not set: start the services with eval "$(bash e2e/containers/services.sh start)"');
    if (!fs.existsSync(ARCHIVE)) throw new Error(`${ARCHIVE} is missing: run npm run image`);
    sh('skopeo', ['copy', '-q', '--all', '--dest-tls-verify=false', `oci-archive:${ARCHIVE}`, `docker://${image}`]);
    runtimeImage = veleroRuntimeImage(work);
    fs.chmodSync(pluginDir, 0o777);
    // velero-plugin-for-aws (the object store) comes from its own init container in a cluster.
    await makePluginDir({ ours: false, dir: pluginDir });
  }, 600_000);

  useVelero({
    on: env,
    pluginDir,
    // Velero's server in a container of its image's packages: host network (API server and S3 store
    // on 127.0.0.1), the plugins volume at /plugins with LD_LIBRARY_PATH=/plugins as Velero's pod has.
    wrapServer: ({ binary, args, env: serverEnv, cwd }) => {
      const kubeconfig = serverEnv['KUBECONFIG'] ?? '';
      const passed = ['HOME', 'KUBECONFIG', 'VELERO_NAMESPACE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED'];
      return {
        command: 'podman',
        args: [
          'run', '--rm', '--name', veleroContainer, '--network', 'host', '--pull=never',
          '-v', `${binary}:/velero:ro`, '-v', `${pluginDir}:/plugins:ro`, '-v', `${kubeconfig}:${kubeconfig}:ro`,
          '-v', `${path.dirname(cwd)}:${path.dirname(cwd)}`, '--workdir', cwd,
          ...passed.flatMap((k) => (serverEnv[k] === undefined ? [] : ['--env', `${k}=${serverEnv[k]}`])),
          '--env', 'LD_LIBRARY_PATH=/plugins',
          runtimeImage, '/velero', ...args.map((a) => (a.startsWith('--plugin-dir=') ? '--plugin-dir=/plugins' : a)),
        ],
      };
    },
  });

  afterAll(() => {
    spawnSync('podman', ['rm', '-f', veleroContainer], { stdio: 'ignore' });
    spawnSync('podman', ['rmi', '-f', image], { stdio: 'ignore' });
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (pluginDir) fs.rmSync(pluginDir, { recursive: true, force: true });
  });

  it('the registry holds one image for linux/amd64 and linux/arm64: non-root, install mode, OCI labels, no shell', () => {
    const index = JSON.parse(sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${image}`])) as {
      manifests: { platform: { os: string; architecture: string } }[];
    };
    expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    for (const arch of ['amd64', 'arm64']) {
      const config = JSON.parse(sh('skopeo', ['inspect', '--config', '--override-arch', arch, '--tls-verify=false', `docker://${image}`])) as {
        architecture: string;
        config: { User: string; Entrypoint: string[]; Labels: Record<string, string> };
      };
      expect(config.architecture).toBe(arch);
      expect(config.config.User).toBe('65532:65532');
      expect(config.config.Entrypoint).toEqual([`${IMAGE_DIR}/${EXECUTABLE}`, 'install', '/target']);
      expect(config.config.Labels).toMatchObject({ 'org.opencontainers.image.title': 'kubevirt-velero-plugin', 'org.opencontainers.image.version': version });
    }
  });

  it('velero plugin add -> the init container as the kubelet runs it -> Velero loads the plugin -> a VM with instance types round-trips', async () => {
    // With a port and a one-segment path, Velero (v1.18.1) keeps "127-0-0-1:PORT" in the init
    // container's name and the API server refuses it: the README tells users to use an organisation.
    const oneSegment = await env.velero.velero(['plugin', 'add', `${registry}/kubevirt-velero-plugin:${tag}`, '--confirm']);
    expect(oneSegment.code).toBe(1);
    expect(oneSegment.stderr + oneSegment.stdout).toMatch(/initContainers\[0\]\.name: Invalid value: "127-0-0-1:\d+-kubevirt-velero-plugin"/);

    const add = await env.velero.velero(['plugin', 'add', image, '--confirm']);
    expect(add.code, add.stderr).toBe(0);
    const deployment = await env.cp.kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'velero', name: 'velero' });
    const podSpec = (deployment?.['spec'] as { template: { spec: { initContainers?: Container[]; containers: Container[]; volumes?: JsonObject[] } } }).template.spec;
    const init = podSpec.initContainers?.find((c) => c.image === image);
    expect(init, JSON.stringify(podSpec)).toBeDefined();
    const mount = init!.volumeMounts?.find((m) => m.mountPath === '/target');
    expect(mount).toBeDefined();
    // The same volume is Velero's plugin directory.
    expect(podSpec.volumes).toContainEqual({ name: mount!.name, emptyDir: {} });
    expect(podSpec.containers.find((c) => c.name === 'velero')?.volumeMounts).toContainEqual({ name: mount!.name, mountPath: '/plugins' });

    // Exactly that container: its image (pulled from the registry), its command/args/env if Velero set
    // any (else the image's entrypoint), the volume at its mount path.
    let container = new GenericContainer(init!.image)
      .withBindMounts([{ source: pluginDir, target: mount!.mountPath, mode: 'rw' }])
      .withWaitStrategy(Wait.forOneShotStartup())
      .withStartupTimeout(180_000);
    if (init!.command) container = container.withEntrypoint(init!.command);
    if (init!.args) container = container.withCommand(init!.args);
    if (init!.env) container = container.withEnvironment(Object.fromEntries(init!.env.map((e) => [e.name, e.value ?? ''])));
    const ran = await container.start();
    const output = await new Promise<string>((resolve, reject) => {
      let text = '';
      ran.logs().then((stream) => {
        stream.on('data', (chunk: Buffer | string) => (text += chunk.toString()));
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
      }, reject);
    });
    await ran.stop();
    expect(output).toContain(`installed /target/${EXECUTABLE} (mode 755`);
    for (const file of [EXECUTABLE, ...LIBRARIES]) {
      const stat = fs.statSync(path.join(pluginDir, file));
      expect({ file, mode: stat.mode & 0o7777, uid: stat.uid }).toEqual({ file, mode: file === EXECUTABLE ? 0o755 : 0o644, uid: 65532 });
    }

    // The Deployment's new pod: Velero starts with the plugin in its directory.
    await env.velero.restart();
    const registered = [...env.velero.logs().matchAll(/msg="registering plugin" command=\/plugins\/kubevirt-velero-plugin kind=\S+ .*?name=(\S+)/g)].map((m) => m[1]);
    expect([...new Set(registered)].sort()).toEqual(Object.values(ActionNames).sort());

    const ns = 'img-rt';
    const kube = env.cp.kube;
    await createNamespace(kube, ns);
    await kube.create(instancetype({ name: 'img-rt-it', cpu: 2, memory: '2Gi' }));
    await kube.create(preference({ name: 'pref', namespace: ns }));
    const created = await createVmLikeKubeVirt(kube, virtualMachine({ name: 'vm1', namespace: ns, instancetype: { name: 'img-rt-it' }, preference: { name: 'pref', kind: 'virtualmachinepreference' } }));
    const itRev = created.instancetypeRevision?.metadata.name ?? '';
    const vmKey = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: ns, name: 'vm1' };
    const revKey = { apiVersion: 'apps/v1', kind: 'ControllerRevision', namespace: ns, name: itRev };
    const ok = async (args: string[]): Promise<void> => {
      const res = await env.velero.velero(args);
      expect(res.code, `velero ${args.join(' ')}: ${res.stderr}`).toBe(0);
    };
    await ok(['backup', 'create', 'img-rt-b', '--include-namespaces', ns, '--snapshot-volumes=false', '--wait']);
    const backupPhase = statusOf(await env.velero.waitForBackup('img-rt-b')).phase;
    const backupLogs = backupPhase === 'Completed' ? '' : (await env.velero.velero(['backup', 'logs', 'img-rt-b'])).stdout.split('\n').filter((l) => /level=(error|warning)/.test(l)).join('\n');
    expect(backupPhase, backupLogs).toBe('Completed');

    await kube.delete(vmKey);
    await waitFor('the VM\'s revision collected with it', async () => ((await kube.get(revKey)) === undefined ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
    await kube.delete({ apiVersion: INSTANCETYPE_API_VERSION, kind: 'VirtualMachineClusterInstancetype', name: 'img-rt-it' });

    await ok(['restore', 'create', 'img-rt-r', '--from-backup', 'img-rt-b', '--wait']);
    const restore = await env.velero.waitForRestore('img-rt-r');
    expect(statusOf(restore), JSON.stringify(restore['status'])).toMatchObject({ phase: 'Completed' });
    const vm = await kube.get(vmKey);
    expect(vm?.['spec']).toMatchObject({ instancetype: { name: 'img-rt-it', revisionName: itRev } });
    const rev = await kube.get(revKey);
    expect(rev?.['data']).toEqual(created.instancetypeRevision?.['data']);
    expect(rev?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'VirtualMachine', name: 'vm1', uid: vm?.metadata.uid });
  });

  it('the arm64 binary of the same image: handshake, ListPlugins and an Execute under qemu-aarch64-static', async () => {
    const qemu = ['/usr/bin/qemu-aarch64-static', '/usr/local/bin/qemu-aarch64-static'].find((p) => fs.existsSync(p));
    if (qemu === undefined) throw new Error('qemu-aarch64-static is missing (apt-get install qemu-user-static)');
    // The arm64 image's file system, as a node would unpack it.
    const layout = path.join(work, 'oci');
    const unpacked = path.join(work, 'arm64-image');
    sh('skopeo', ['copy', '-q', '--override-arch', 'arm64', '--src-tls-verify=false', `docker://${image}`, `oci:${layout}:arm64`]);
    sh('umoci', ['raw', 'unpack', '--image', `${layout}:arm64`, unpacked]);
    expect(fs.readdirSync(path.join(unpacked, IMAGE_DIR)).sort()).toEqual([EXECUTABLE, ...LIBRARIES].sort());
    expect(sh('file', ['-b', path.join(unpacked, IMAGE_DIR, EXECUTABLE)])).toMatch(/ARM aarch64/);
    // Its base is the arm64 one too (the loader the binary asks for), and it has no shell.
    expect(() => fs.lstatSync(path.join(unpacked, 'lib/ld-linux-aarch64.so.1'))).not.toThrow();
    for (const shell of ['bin/sh', 'bin/bash', 'usr/bin/sh', 'usr/bin/bash', 'bin/dash']) expect(fs.existsSync(path.join(unpacked, shell)), shell).toBe(false);

    // An arm64 root of Velero's image packages; the emulator is the only foreign file in it.
    const root = assembleRoot({ ...BULLSEYE_VELERO_IMAGE, arch: 'arm64' }, work);
    fs.cpSync(path.join(unpacked, IMAGE_DIR), path.join(root, IMAGE_DIR), { recursive: true });
    fs.copyFileSync(qemu, path.join(root, 'usr/bin/qemu-aarch64-static'));
    fs.chmodSync(path.join(root, 'usr/bin/qemu-aarch64-static'), 0o755);
    fs.chmodSync(path.join(root, 'plugins'), 0o777);
    const emulator = '/usr/bin/qemu-aarch64-static';
    const install = runInRoot(root, [emulator, `${IMAGE_DIR}/${EXECUTABLE}`, 'install', '/plugins'], { LD_LIBRARY_PATH: IMAGE_DIR }, '65532:65532');
    expect(install.stderr).toBe('');
    expect(install.status).toBe(0);

    const plugin = await launchInRoot(root, `/plugins/${EXECUTABLE}`, veleroPodEnv(), { emulator });
    try {
      expect(plugin.handshake).toMatch(/^1\|2\|unix\|\/tmp\/[^|]+\|grpc\|$/);
      const listed = await plugin.call<{ plugins: { name: string }[] }>('generated.PluginLister', 'ListPlugins', {});
      expect(listed.plugins.map((p) => p.name).sort()).toEqual(Object.values(ActionNames).sort());
      const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'virt-launcher-vm1-abcde', namespace: 'ns1', labels: { 'kubevirt.io': 'virt-launcher' } } };
      const restoreObject = { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r', namespace: 'velero', uid: 'u' } };
      const executed = await plugin.call<{ item: Buffer; skipRestore: boolean }>('generated.RestoreItemAction', 'Execute', {
        plugin: ActionNames.restorePod,
        item: Buffer.from(stringifyJson(pod)),
        itemFromBackup: Buffer.from(stringifyJson(pod)),
        restore: Buffer.from(stringifyJson(restoreObject)),
      });
      expect(executed.skipRestore).toBe(true);
      expect(parseJson(executed.item.toString())).toEqual(pod);
    } finally {
      await plugin.shutdown();
    }
    expect(plugin.stdoutAfterHandshake).toBe('');
  });
});
