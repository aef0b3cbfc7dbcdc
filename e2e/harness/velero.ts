// A real Velero server, out of cluster, against the e2e control plane, with a real S3 store (versitygw
// keeping objects as plain files, so the bucket can be read straight from disk) and the AWS object store
// plugin. The plugin directory is laid out the way the init containers do it in a cluster.
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binary, cacheRoot, repoDir } from './components.ts';
import type { ControlPlane } from './control-plane.ts';
import { freePort, machineLock, portInUse, run, startProcess, waitFor, type Proc } from './process.ts';
import { readBackupTarballBytes } from './tarball.ts';
import type { JsonValue, KubeObject } from '../../src/velero/types.ts';

export const VELERO_NAMESPACE = 'velero';
export const BUCKET = 'velero';

/** The phase and error/warning counts of a Backup or Restore object. */
export function statusOf(obj: KubeObject): { phase?: string; errors?: number; warnings?: number } {
  return (obj['status'] ?? {}) as { phase?: string; errors?: number; warnings?: number };
}

/** Warnings every restore in this environment gets, whatever it restores. */
const ENVIRONMENT_WARNINGS = [
  // This control plane has no VolumeGroupSnapshot CRDs, which Velero >= 1.17 looks for on every restore.
  /failed to list stub VolumeGroupSnapshotContents/,
  // Velero backs up the CRDs of the custom resources in a backup; ours differ from the stored copies
  // only in server-set fields, and Velero compares them anyway.
  /could not restore, CustomResourceDefinition:/,
];

/** The warning lines of `velero restore describe`, less the ones this environment always causes. */
export function restoreWarnings(describe: string): string[] {
  const section = /\nWarnings:\n([\s\S]*?)\n\S/.exec(describe)?.[1] ?? '';
  return section
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(Velero|Cluster|Namespaces):\s*(<none>)?$/.test(l))
    .map((l) => l.replace(/^[\w.-]+:\s+(?=\S)/, '')) // "Cluster:  ...", "<namespace>:  ..."
    .filter((l) => !ENVIRONMENT_WARNINGS.some((re) => re.test(l)));
}

export interface VeleroResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface Velero {
  namespace: string;
  /** Directory of the S3 store: `<bucketDir>/backups/<name>/<name>.tar.gz` etc. */
  bucketDir: string;
  s3Url: string;
  pluginDir: string;
  /** Runs the velero CLI against this server (KUBECONFIG and VELERO_NAMESPACE set); never throws on exit code. */
  velero(args: string[], opts?: { timeoutMs?: number }): Promise<VeleroResult>;
  /** Every JSON file of backups/<name>/<name>.tar.gz, by its path inside the tarball. */
  readBackupTarball(name: string): Map<string, JsonValue>;
  /** The Backup or Restore object (undefined if absent). */
  getBackup(name: string): Promise<KubeObject | undefined>;
  getRestore(name: string): Promise<KubeObject | undefined>;
  /** Waits until a Backup/Restore has a terminal phase and returns the object. */
  waitForBackup(name: string, timeoutMs?: number): Promise<KubeObject>;
  waitForRestore(name: string, timeoutMs?: number): Promise<KubeObject>;
  /** The velero server's log so far (plugin processes log through it). */
  logs(): string;
  processes: Proc[];
  /** The running velero server process (a restart replaces it). */
  serverProcess(): Proc | undefined;
  /** Restarts only the velero server (same store, same plugin dir). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `velero`: the pinned Velero (versions.json `velero`); `velero-old`: the older line (`veleroOld`). */
export type VeleroBinary = 'velero' | 'velero-old';

export interface VeleroOptions {
  /** Which Velero build runs the server and the CLI. Default 'velero'. */
  velero?: VeleroBinary;
  /** A directory laid out by makePluginDir(). */
  pluginDir: string;
  /** Extra `velero server` flags. */
  extraArgs?: string[];
  /** Extra environment for velero server (and through it, the plugins). */
  env?: Record<string, string>;
  keep?: boolean;
  /**
   * Runs the server through another command, e.g. inside a container: given velero's path, its
   * arguments, environment and working directory, returns the command line to start instead.
   */
  wrapServer?: (server: { binary: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string }) => { command: string; args: string[] };
}

const TERMINAL_PHASES = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation', 'Finalizing-Failed']);

/**
 * Plugin directories makePluginDir() made under the temp dir (~190 MB each: our binary and the AWS
 * plugin). Each goes when the Velero server using it stops, the rest when the process exits, unless
 * KVP_E2E_KEEP=1. (Left behind, a few hundred e2e runs filled a 250 GB disk.)
 */
const temporaryPluginDirs = new Set<string>();

function temporaryPluginDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvp-e2e-plugins-'));
  temporaryPluginDirs.add(dir);
  return dir;
}

function removeTemporaryPluginDir(dir: string): void {
  if (!temporaryPluginDirs.delete(dir) || process.env['KVP_E2E_KEEP'] === '1') return;
  rmSync(dir, { recursive: true, force: true });
}

process.once('exit', () => {
  for (const dir of [...temporaryPluginDirs]) removeTemporaryPluginDir(dir);
});

/**
 * A plugin directory: velero-plugin-for-aws plus (when `ours`, default true) this project's plugin binary
 * laid out by its own install mode (`dist/kubevirt-velero-plugin install <dir>`), exactly what the
 * plugin's init container does in a cluster.
 */
export async function makePluginDir(opts: { ours?: boolean; dir?: string; build?: OurBuild } = {}): Promise<string> {
  const dir = opts.dir ?? temporaryPluginDir();
  mkdirSync(dir, { recursive: true });
  const aws = join(dir, 'velero-plugin-for-aws');
  copyFileSync(binary('velero-plugin-for-aws'), aws);
  chmodSync(aws, 0o755);
  if (opts.ours ?? true) await installOurPlugin(dir, opts.build ?? 'product');
  return dir;
}

/** `product`: dist/ (npm run build); `test-hooks`: the same actions with the test-only switches (build.mjs --test-hooks). */
export type OurBuild = 'product' | 'test-hooks';

export function ourBinaryPath(build: OurBuild = 'product'): string {
  return join(repoDir, build === 'product' ? 'dist' : 'dist-test-product', 'kubevirt-velero-plugin');
}

async function installOurPlugin(dir: string, build: OurBuild): Promise<void> {
  const bin = ourBinaryPath(build);
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: run \`${build === 'product' ? 'npm run build' : 'node scripts/build.mjs --test-hooks'}\` first`);
  }
  // The same command the plugin image's init container runs to copy itself into Velero's plugin dir.
  const res = await run(bin, ['install', dir], { timeoutMs: 60_000 });
  if (res.code !== 0) {
    throw new Error(`${bin} install ${dir} failed (${res.code}): ${res.stderr || res.stdout}`);
  }
}

/** Velero's CRDs as printed by the pinned velero binary, cached next to the binaries. */
export async function veleroCrdsYaml(which: VeleroBinary = 'velero'): Promise<string> {
  const cached = join(cacheRoot(), which === 'velero' ? 'velero-crds.yaml' : `${which}-crds.yaml`);
  if (existsSync(cached)) return readFileSync(cached, 'utf8');
  const home = mkdtempSync(join(tmpdir(), 'kvp-e2e-home-'));
  try {
    const res = await run(binary(which), ['install', '--crds-only', '--dry-run', '-o', 'yaml'], {
      env: { ...process.env, HOME: home },
      timeoutMs: 60_000,
    });
    if (res.code !== 0 || !res.stdout.includes('CustomResourceDefinition')) {
      throw new Error(`velero install --crds-only --dry-run failed (${res.code}): ${res.stderr}`);
    }
    // Write-then-rename: a concurrent run never reads a half-written file.
    writeFileSync(`${cached}.${process.pid}`, res.stdout);
    renameSync(`${cached}.${process.pid}`, cached);
    return res.stdout;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export async function startVelero(cp: ControlPlane, opts: VeleroOptions): Promise<Velero> {
  const dir = mkdtempSync(join(tmpdir(), 'kvp-e2e-velero-'));
  const processes: Proc[] = [];
  let server: Proc | undefined;
  let lock: { release(): void } | undefined;
  const stop = async (): Promise<void> => {
    if (server !== undefined) await server.stop();
    lock?.release();
    for (const p of [...processes].reverse()) await p.stop();
    if (!(opts.keep === true || process.env['KVP_E2E_KEEP'] === '1')) {
      rmSync(dir, { recursive: true, force: true });
      removeTemporaryPluginDir(opts.pluginDir);
    }
  };
  try {
    // --- the S3 store ---
    const accessKey = `e2e${randomBytes(6).toString('hex')}`;
    const secretKey = randomBytes(18).toString('hex');
    // (versitygw compares the paths as strings: the sidecar must not even share the root's prefix.)
    const root = join(dir, 'objects');
    const sidecar = join(dir, 'metadata');
    mkdirSync(root);
    mkdirSync(sidecar);
    const s3Port = await freePort();
    const s3Url = `http://127.0.0.1:${s3Port}`;
    const s3 = startProcess('versitygw', binary('versitygw'), {
      logPath: join(dir, 'versitygw.log'),
      args: ['--port', `127.0.0.1:${s3Port}`, '--region', 'us-east-1', 'posix', '--sidecar', sidecar, root],
      // Keys through the environment, not argv (argv is visible in ps).
      env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKey, ROOT_SECRET_ACCESS_KEY: secretKey },
    });
    processes.push(s3);
    await waitFor('versitygw listening', async () => {
      await fetch(s3Url, { signal: AbortSignal.timeout(2_000) });
      return true; // any HTTP answer (403 unsigned) means it serves
    }, { timeoutMs: 30_000, proc: s3 });
    // With the posix backend a bucket is a directory under the root.
    const bucketDir = join(root, BUCKET);
    mkdirSync(bucketDir);
    const credentials = join(dir, 'aws-credentials');
    writeFileSync(credentials, `[default]\naws_access_key_id=${accessKey}\naws_secret_access_key=${secretKey}\n`, { mode: 0o600 });

    // --- the cluster side: CRDs, namespace, BackupStorageLocation ---
    await cp.applyCrds(await veleroCrdsYaml(opts.velero ?? 'velero'));
    const kube = cp.kube;
    if ((await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: VELERO_NAMESPACE })) === undefined) {
      await kube.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: VELERO_NAMESPACE } });
    }
    // Velero's built-in pod-volume restore action reads its own Deployment (for its image) at every
    // restore and the restore ends PartiallyFailed without one. Out of cluster there is none: create
    // what `velero install` would have (nothing runs it here).
    const deploymentKey = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: VELERO_NAMESPACE, name: 'velero' };
    if ((await kube.get(deploymentKey)) === undefined) {
      await kube.create({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'velero', namespace: VELERO_NAMESPACE, labels: { component: 'velero' } },
        spec: {
          selector: { matchLabels: { deploy: 'velero' } },
          template: {
            metadata: { labels: { deploy: 'velero' } },
            spec: { containers: [{ name: 'velero', image: 'velero/velero:v1.18.1', command: ['/velero'], args: ['server'] }] },
          },
        },
      });
    }
    const bslKey = { apiVersion: 'velero.io/v1', kind: 'BackupStorageLocation', namespace: VELERO_NAMESPACE, name: 'default' };
    await kube.delete(bslKey).catch(() => false);
    await kube.create({
      apiVersion: 'velero.io/v1',
      kind: 'BackupStorageLocation',
      metadata: { name: 'default', namespace: VELERO_NAMESPACE },
      spec: {
        provider: 'aws',
        default: true,
        objectStorage: { bucket: BUCKET },
        config: { region: 'us-east-1', s3ForcePathStyle: 'true', s3Url, checksumAlgorithm: '' },
      },
    });

    // --- velero server ---
    const home = join(dir, 'home');
    mkdirSync(home);
    const metricsPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      KUBECONFIG: cp.kubeconfigPath,
      VELERO_NAMESPACE,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...opts.env,
    };
    const veleroBin = binary(opts.velero ?? 'velero');
    const serverArgs = [
      // Velero re-executes itself (os.Args[0]) for its built-in plugins: absolute path, `server` first.
      'server',
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--namespace=${VELERO_NAMESPACE}`,
      `--plugin-dir=${opts.pluginDir}`,
      '--uploader-type=kopia',
      '--default-volumes-to-fs-backup=false',
      '--store-validation-frequency=10s',
      '--backup-sync-period=30s',
      '--item-operation-sync-frequency=2s',
      `--metrics-address=127.0.0.1:${metricsPort}`,
      '--profiler-address=',
      '--log-level=debug',
      ...(opts.extraArgs ?? []),
    ];
    // Velero's controller-runtime manager serves its own metrics on :8080 (all interfaces), and no
    // velero flag moves it: one Velero server per machine at a time. Wait for the others.
    lock = await machineLock('velero-8080', 15 * 60_000);
    await waitFor('port 8080 free (Velero controller-manager metrics)', async () => ((await portInUse(8080)) ? undefined : true), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    let starts = 0;
    const startServer = async (): Promise<void> => {
      starts += 1;
      const startedAt = Math.floor(Date.now() / 1000) * 1000;
      const launch = opts.wrapServer?.({ binary: veleroBin, args: serverArgs, env, cwd: home }) ?? { command: veleroBin, args: serverArgs };
      const proc = startProcess('velero', launch.command, { logPath: join(dir, `velero-server-${starts}.log`), args: launch.args, env, cwd: home });
      server = proc;
      // Ready = its controllers run ("Server starting..." is logged just before the manager starts) and
      // this very process has validated the storage location (a restart must not count the old check).
      await waitFor('velero server started and BackupStorageLocation default Available', async () => {
        if (!proc.log().includes('Server starting...')) return undefined;
        const bsl = await kube.get(bslKey);
        const status = bsl?.['status'] as { phase?: string; lastValidationTime?: string } | undefined;
        const validated = status?.lastValidationTime === undefined ? 0 : Date.parse(status.lastValidationTime);
        return status?.phase === 'Available' && validated >= startedAt ? true : undefined;
      }, { timeoutMs: 90_000, intervalMs: 500, proc });
    };
    await startServer();

    const velero = (args: string[], o: { timeoutMs?: number } = {}): Promise<VeleroResult> =>
      run(veleroBin, args, { env, timeoutMs: o.timeoutMs ?? 180_000 });
    const getNamed = (kind: string) => (name: string) =>
      kube.get({ apiVersion: 'velero.io/v1', kind, namespace: VELERO_NAMESPACE, name });
    const getBackup = getNamed('Backup');
    const getRestore = getNamed('Restore');
    const waitTerminal = (kind: string, get: (n: string) => Promise<KubeObject | undefined>) => (name: string, timeoutMs = 180_000) =>
      waitFor(`${kind} ${name} to finish`, async () => {
        const o = await get(name);
        const phase = (o?.['status'] as { phase?: string } | undefined)?.phase;
        return o !== undefined && phase !== undefined && TERMINAL_PHASES.has(phase) ? o : undefined;
      }, { timeoutMs, intervalMs: 500 });

    return {
      namespace: VELERO_NAMESPACE,
      bucketDir,
      s3Url,
      pluginDir: opts.pluginDir,
      velero,
      readBackupTarball: (name) => {
        if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) throw new Error(`invalid backup name ${JSON.stringify(name)}`);
        return readBackupTarballBytes(readFileSync(join(bucketDir, 'backups', name, `${name}.tar.gz`)));
      },
      getBackup,
      getRestore,
      waitForBackup: waitTerminal('Backup', getBackup),
      waitForRestore: waitTerminal('Restore', getRestore),
      logs: () => readdirSync(dir).filter((f) => f.startsWith('velero-server-')).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join(''),
      processes,
      serverProcess: () => server,
      restart: async () => {
        if (server !== undefined) await server.stop();
        await startServer();
      },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
