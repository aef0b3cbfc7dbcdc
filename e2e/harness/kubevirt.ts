// KubeVirt's real control plane, virt-api and virt-controller, as loopback processes next to the e2e
// kube-apiserver (e2e/build-kubevirt.sh builds them from the Go module proxy). No node, kubelet or
// container runtime: a started VM gets its VirtualMachineInstance and a virt-launcher pod that stays
// Pending forever. What it takes, each found by running it (see docs/kubevirt-control-plane.md):
//   - kube-apiserver with --client-ca-file and --requestheader-client-ca-file (virt-api panics without
//     the requestheader CA in kube-system/extension-apiserver-authentication): apiserverFlags();
//   - every KubeVirt CRD, and CDI's cdis/cdiconfigs/datasources/storageprofiles (a DataVolume CRD is
//     served, so the VM controller waits for CDI's), all BEFORE either process starts: both exit on
//     purpose when CDI CRDs appear or vanish;
//   - virt-controller acting as system:serviceaccount:kubevirt:kubevirt-controller (virt-api's VMI
//     webhook refuses VMI status updates from anyone else): a token of that name (controllerTokenLine);
//   - virt-api's webhooks (failurePolicy Fail) registered with clientConfig.url on 127.0.0.1, so virt-api
//     must stay up while anything writes VMs — it is stopped after everything that does;
//   - readiness is a canary VM getting its status refs (virt-controller's /leader answers before its VM
//     controller syncs).
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { e2eDir } from './components.ts';
import type { KubeClient } from './kube.ts';
import { freePort, run, startProcess, waitFor, type Proc } from './process.ts';
import type { KubeObject } from '../../src/velero/types.ts';

/** The KubeVirt lines the suite runs; each maps to one release of e2e/kubevirt-versions.json. */
export type KubevirtLine = '1.5' | '1.6' | '1.8';

interface KubevirtVersions {
  versions: Record<string, unknown>;
}

function readVersions(): KubevirtVersions {
  return JSON.parse(readFileSync(join(e2eDir, 'kubevirt-versions.json'), 'utf8')) as KubevirtVersions;
}

/** The release of a line: the newest listed patch release `v<line>.N`. */
export function kubevirtRelease(line: KubevirtLine): string {
  const releases = Object.keys(readVersions().versions).filter((v) => v.startsWith(`v${line}.`));
  const newest = releases.sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))[0];
  if (newest === undefined) throw new Error(`no KubeVirt ${line}.x release in e2e/kubevirt-versions.json`);
  return newest;
}

const LINES: readonly KubevirtLine[] = ['1.5', '1.6', '1.8'];

/**
 * The lines a test file runs: a comma-separated list (e.g. KVP_E2E_KUBEVIRT=1.6), by default every line
 * e2e/kubevirt-versions.json lists. An unknown line is an error, not a silent skip.
 */
export function kubevirtLines(list: string | undefined): KubevirtLine[] {
  const listed = LINES.filter((l) => Object.keys(readVersions().versions).some((v) => v.startsWith(`v${l}.`)));
  if (list === undefined || list.trim() === '') return [...listed];
  return list.split(',').map((raw) => {
    const l = raw.trim();
    const line = listed.find((x) => x === l);
    if (line === undefined) throw new Error(`KubeVirt line ${JSON.stringify(l)} is not one of ${listed.join(', ')} (e2e/kubevirt-versions.json)`);
    return line;
  });
}

/** Where e2e/build-kubevirt.sh put a release's binaries (the same key: sha256 of "<version> <entry JSON>"). */
export function kubevirtBinDir(release: string): string {
  const entry = readVersions().versions[release];
  if (entry === undefined) throw new Error(`KubeVirt ${release} is not in e2e/kubevirt-versions.json`);
  const key = createHash('sha256').update(`${release} ${JSON.stringify(entry)}\n`).digest('hex').slice(0, 12);
  const base = process.env['KVP_E2E_CACHE'] ?? join(homedir(), '.cache', 'kubevirt-velero-plugin-e2e');
  return join(base, 'kubevirt', `${release}-${key}`, 'bin');
}

function kubevirtBinary(release: string, name: 'virt-api' | 'virt-controller' | 'kubevirt-manifests'): string {
  const path = join(kubevirtBinDir(release), name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`KubeVirt ${release} ${name} is not built (${path}): run \`bash e2e/build-kubevirt.sh ${release}\` (npm run e2e:build)`);
  }
  return path;
}

export function isKubevirtBuilt(line: KubevirtLine): boolean {
  try {
    const release = kubevirtRelease(line);
    for (const name of ['virt-api', 'virt-controller', 'kubevirt-manifests'] as const) kubevirtBinary(release, name);
    return true;
  } catch {
    return false;
  }
}

/** A CA and a certificate it signs for 127.0.0.1 (serving and client), made before kube-apiserver starts. */
export interface KubevirtCerts {
  caPath: string;
  certPath: string;
  keyPath: string;
  ca: string;
}

export async function makeKubevirtCerts(release: string, dir: string): Promise<KubevirtCerts> {
  mkdirSync(dir, { recursive: true });
  const res = await run(kubevirtBinary(release, 'kubevirt-manifests'), ['certs', '--dir', dir], { timeoutMs: 30_000 });
  if (res.code !== 0) throw new Error(`kubevirt-manifests certs: exit ${res.code}: ${res.stderr}`);
  return { caPath: join(dir, 'ca.crt'), certPath: join(dir, 'tls.crt'), keyPath: join(dir, 'tls.key'), ca: readFileSync(join(dir, 'ca.crt'), 'utf8') };
}

/** kube-apiserver flags virt-api needs: a client CA and the front-proxy (requestheader) settings. */
export function apiserverFlags(certs: KubevirtCerts): string[] {
  return [
    `--client-ca-file=${certs.caPath}`,
    `--requestheader-client-ca-file=${certs.caPath}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
  ];
}

export const CONTROLLER_USER = 'system:serviceaccount:kubevirt:kubevirt-controller';

/** A tokens.csv line for virt-controller: its service account's name, with cluster-admin rights. */
export function controllerTokenLine(token: string): string {
  return `${token},${CONTROLLER_USER},kubevirt-controller,"system:masters,system:serviceaccounts,system:serviceaccounts:kubevirt"\n`;
}

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/** The CDI kinds virt-controller waits for once a DataVolume CRD is served (schema-less stubs are enough). */
const CDI_STUBS: { plural: string; kind: string; scope: 'Namespaced' | 'Cluster' }[] = [
  { plural: 'cdis', kind: 'CDI', scope: 'Cluster' },
  { plural: 'cdiconfigs', kind: 'CDIConfig', scope: 'Cluster' },
  { plural: 'datasources', kind: 'DataSource', scope: 'Namespaced' },
  { plural: 'storageprofiles', kind: 'StorageProfile', scope: 'Cluster' },
];

function cdiStubCrd(stub: (typeof CDI_STUBS)[number]): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${stub.plural}.cdi.kubevirt.io` },
    spec: {
      group: 'cdi.kubevirt.io',
      scope: stub.scope,
      names: { plural: stub.plural, singular: stub.kind.toLowerCase(), kind: stub.kind, listKind: `${stub.kind}List` },
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

/** KubeVirt's own CRDs (from its components package) plus the CDI stubs, as JSON for applyCrdDocuments. */
export async function kubevirtCrds(release: string, opts: { stub: boolean }): Promise<string> {
  const res = await run(kubevirtBinary(release, 'kubevirt-manifests'), ['crds', ...(opts.stub ? ['--stub'] : [])], { timeoutMs: 60_000 });
  if (res.code !== 0) throw new Error(`kubevirt-manifests crds: exit ${res.code}: ${res.stderr}`);
  const crds = JSON.parse(res.stdout) as KubeObject[];
  // One multi-document text (JSON is YAML).
  return [...crds, ...CDI_STUBS.map(cdiStubCrd)].map((c) => JSON.stringify(c)).join('\n---\n');
}

export interface KubevirtControlPlane {
  release: string;
  /** https://127.0.0.1:<port> of virt-api (webhooks). */
  virtApiUrl: string;
  virtApi: Proc;
  virtController: Proc;
  /** Resident memory of virt-api and virt-controller now, in MiB (from /proc). */
  rssMiB(): { virtApi: number; virtController: number };
  /** Seconds from the start of virt-api to the canary VM's status refs. */
  startSeconds: number;
}

export interface StartKubevirtOptions {
  release: string;
  kube: KubeClient;
  certs: KubevirtCerts;
  /** kubeconfig of an admin (virt-api) and of the kubevirt-controller service account (virt-controller). */
  adminKubeconfig: string;
  controllerKubeconfig: string;
  dir: string;
  /** Started processes are pushed here as soon as they run, so the caller's stop() ends them. */
  processes: Proc[];
}

const START_TIMEOUT_MS = 180_000;

/**
 * Starts virt-api or virt-controller of the release on 127.0.0.1:port with its own kubeconfig, logging
 * to <dir>/<name>.log; registered in opts.processes so the stop order holds.
 */
function startComponent(opts: StartKubevirtOptions, name: 'virt-api' | 'virt-controller', kubeconfig: string, port: number, tlsArgs: string[]): ReturnType<typeof startProcess> {
  // Both write certificate directories under TMPDIR.
  const tmp = join(opts.dir, 'virt-api-tmp');
  mkdirSync(tmp, { recursive: true });
  const proc = startProcess(name, kubevirtBinary(opts.release, name), {
    logPath: join(opts.dir, `${name}.log`),
    env: { ...process.env, TMPDIR: tmp },
    args: [`--kubeconfig=${kubeconfig}`, '--listen=127.0.0.1', `--port=${port}`, ...tlsArgs],
  });
  opts.processes.push(proc);
  return proc;
}

/** Registers the webhooks, starts virt-api then virt-controller, and waits until a canary VM is handled. */
export async function startKubevirt(opts: StartKubevirtOptions): Promise<KubevirtControlPlane> {
  const { kube, certs, release } = opts;
  const started = Date.now();
  await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kubevirt' } });

  const apiPort = await freePort();
  const virtApiUrl = `https://127.0.0.1:${apiPort}`;
  const virtApi = startComponent(opts, 'virt-api', opts.adminKubeconfig, apiPort, [
    `--tls-cert-file=${certs.certPath}`,
    `--tls-key-file=${certs.keyPath}`,
    `--handler-cert-file=${certs.certPath}`,
    `--handler-key-file=${certs.keyPath}`,
  ]);
  await waitFor('virt-api /healthz', async () => {
    const res = await fetchInsecureLocal(`${virtApiUrl}/healthz`, certs.ca);
    return res === 200 ? true : undefined;
  }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 500, proc: virtApi });

  // Webhooks only once virt-api answers: they are failurePolicy Fail.
  const res = await run(kubevirtBinary(release, 'kubevirt-manifests'), ['webhooks', '--url', virtApiUrl, '--ca-file', certs.caPath], {
    timeoutMs: 60_000,
  });
  if (res.code !== 0) throw new Error(`kubevirt-manifests webhooks: exit ${res.code}: ${res.stderr}`);
  for (const webhook of JSON.parse(res.stdout) as KubeObject[]) await kube.apply(webhook);

  const controllerPort = await freePort();
  const virtController = startComponent(opts, 'virt-controller', opts.controllerKubeconfig, controllerPort, [
    `--prom-cert-file=${certs.certPath}`,
    `--prom-key-file=${certs.keyPath}`,
  ]);
  await waitForCanary(kube, virtController);
  const startSeconds = (Date.now() - started) / 1000;
  return {
    release,
    virtApiUrl,
    virtApi,
    virtController,
    startSeconds,
    rssMiB: () => ({ virtApi: rssMiB(virtApi.pid), virtController: rssMiB(virtController.pid) }),
  };
}

/** GET with our CA (Node's fetch cannot take a CA per request); the HTTP status, or undefined. */
async function fetchInsecureLocal(url: string, ca: string): Promise<number | undefined> {
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 3_000 }, (r) => {
      r.resume();
      resolve(r.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

const CANARY = 'kvp-canary';

/**
 * Real readiness: a VM in the kubevirt namespace with a cluster instance type gets
 * status.instancetypeRef.controllerRevisionRef from virt-controller. Then the canary is removed (its
 * revision goes with it when kube-controller-manager's garbage collector runs; it stays in the kubevirt
 * namespace otherwise, where no test looks).
 */
async function waitForCanary(kube: KubeClient, virtController: Proc): Promise<void> {
  const it = { apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterInstancetype', name: CANARY };
  const vmKey = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'kubevirt', name: CANARY };
  // The webhooks may refuse writes for a moment after registration (the API server picks them up).
  await waitFor('canary instance type admitted', async () => {
    await kube.apply({ apiVersion: it.apiVersion, kind: it.kind, metadata: { name: CANARY }, spec: { cpu: { guest: 1 }, memory: { guest: '64Mi' } } });
    return true;
  }, { timeoutMs: 60_000 });
  await kube.apply({
    apiVersion: vmKey.apiVersion,
    kind: vmKey.kind,
    metadata: { name: CANARY, namespace: 'kubevirt' },
    spec: {
      runStrategy: 'Halted',
      instancetype: { name: CANARY, kind: 'VirtualMachineClusterInstancetype' },
      template: { spec: { domain: { devices: {} } } },
    },
  });
  await waitFor('canary VM status.instancetypeRef from virt-controller', async () => {
    const vm = await kube.get(vmKey);
    const ref = (vm?.['status'] as { instancetypeRef?: { controllerRevisionRef?: { name?: string } } } | undefined)?.instancetypeRef;
    return ref?.controllerRevisionRef?.name === undefined ? undefined : true;
  }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 500, proc: virtController });
  await kube.delete(vmKey);
  await kube.delete({ apiVersion: it.apiVersion, kind: it.kind, name: CANARY });
  // virt-controller removes its finalizer, then the VM is gone.
  await waitFor('canary VM deleted', async () => ((await kube.get(vmKey)) === undefined ? true : undefined), { timeoutMs: 60_000, proc: virtController });
}

function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? 0 : Math.round(Number(line.split(/\s+/)[1]) / 1024);
  } catch {
    return 0;
  }
}
