// A real Kubernetes control plane on loopback, the minimal set controller-runtime's envtest uses: etcd +
// kube-apiserver, and optionally kube-controller-manager running only the namespace and garbage
// collector controllers (namespace deletion, ControllerRevisions collected after their VM). No nodes, no
// scheduler. No KubeVirt controllers unless a file opts in with `kubevirt` (KubeVirt's real virt-api and
// virt-controller, e2e/harness/kubevirt.ts); otherwise tests create objects the way KubeVirt would
// (e2e/fixtures/).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Plain YAML (not client-node's loadAllYaml, whose typed models drop x-kubernetes-* schema fields).
import { loadAll } from 'js-yaml';
import { binary, e2eDir } from './components.ts';
import { KubeClient } from './kube.ts';
import {
  apiserverFlags,
  controllerTokenLine,
  kubevirtCrds,
  kubevirtRelease,
  makeKubevirtCerts,
  newToken,
  startKubevirt,
  type KubevirtControlPlane,
  type KubevirtLine,
} from './kubevirt.ts';
import { freePort, startProcess, waitFor, type Proc } from './process.ts';
import type { KubeObject } from '../../src/velero/types.ts';

export interface ControlPlane {
  /** A kubeconfig file with the admin token (for velero and kube-controller-manager). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Bearer token of a system:masters user. */
  token: string;
  /** PEM of the API server's self-signed certificate chain (trust it to talk TLS to `server`). */
  ca: string;
  /** A REST client for the tests. */
  kube: KubeClient;
  /** Temp directory holding data, certificates and logs. */
  dir: string;
  processes: Proc[];
  /** The API server's audit log (JSON lines, one per request), when started with `auditLog`. */
  auditLogPath?: string;
  /** KubeVirt's virt-api and virt-controller, when the options asked for them. */
  kubevirt?: KubevirtControlPlane;
  /** Applies CRD YAML documents and waits until each is Established and served. */
  applyCrds(yamlText: string): Promise<string[]>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (namespace + garbage-collector controllers). Default false. */
  controllerManager?: boolean;
  /** Extra CRD YAML (multi-document) applied after e2e/crds/. */
  extraCrds?: string[];
  /**
   * Write an audit log of every request at Metadata level (verb, URI, user agent, status; no bodies),
   * so a benchmark can count who asked what from the API server's side. Default false.
   */
  auditLog?: boolean;
  /**
   * With `auditLog`: these core (group "") resources are logged at RequestResponse level, bodies
   * included, so a test can see what the API server sent (e.g. whether a Secret's data crossed).
   */
  auditResponsesOf?: string[];
  /** Keep the temp dir after stop() (for debugging); also when KVP_E2E_KEEP=1. */
  keep?: boolean;
  /**
   * Run KubeVirt's real virt-api and virt-controller of this line (e2e/harness/kubevirt.ts), on KubeVirt's
   * own CRDs. Absent: no KubeVirt process, our CRDs only (e2e/crds/).
   */
  kubevirt?: KubevirtLine;
  /** With `kubevirt`: KubeVirt's CRDs without their schemas (saves kube-apiserver ~165 MB). Default false. */
  kubevirtStubCrds?: boolean;
}

const READY_TIMEOUT_MS = 90_000;

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'kvp-e2e-cp-'));
  const processes: Proc[] = [];
  const stop = async (): Promise<void> => {
    // Reverse order: controllers, then the API server, then etcd.
    for (const p of [...processes].reverse()) await p.stop();
    if (!(opts.keep === true || process.env['KVP_E2E_KEEP'] === '1')) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcdPort = await freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startProcess('etcd', binary('etcd'), {
      logPath: join(dir, 'etcd.log'),
      args: [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        '--listen-peer-urls=http://127.0.0.1:0',
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
    });
    processes.push(etcd);
    await waitFor('etcd /health', async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      return res.ok ? true : undefined;
    }, { timeoutMs: READY_TIMEOUT_MS, proc: etcd });

    const token = randomBytes(24).toString('hex');
    const kubevirtLine = opts.kubevirt;
    const kubevirt =
      kubevirtLine === undefined
        ? undefined
        : { release: kubevirtRelease(kubevirtLine), controllerToken: newToken(), certs: await makeKubevirtCerts(kubevirtRelease(kubevirtLine), join(dir, 'kubevirt-certs')) };
    writeFileSync(
      join(dir, 'tokens.csv'),
      `${token},admin,admin,"system:masters"\n${kubevirt === undefined ? '' : controllerTokenLine(kubevirt.controllerToken)}`,
      { mode: 0o600 },
    );
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = join(dir, 'sa.key');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    const certDir = join(dir, 'certs');
    const audit = opts.auditLog === true ? auditArgs(dir, opts.auditResponsesOf ?? []) : { args: [], path: undefined };
    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = startProcess('kube-apiserver', binary('kube-apiserver'), {
      logPath: join(dir, 'kube-apiserver.log'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--endpoint-reconciler-type=none',
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${saKey}`,
        `--service-account-signing-key-file=${saKey}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--disable-admission-plugins=ServiceAccount,StorageObjectInUseProtection',
        '--v=0',
        ...audit.args,
        ...(kubevirt === undefined ? [] : apiserverFlags(kubevirt.certs)),
      ],
    });
    processes.push(apiserver);
    // The API server writes its self-signed certificate before it listens.
    const ca = await waitFor('kube-apiserver certificate', async () => {
      const crt = readdirSync(certDir).find((f) => f.endsWith('.crt'));
      return crt === undefined ? undefined : readFileSync(join(certDir, crt), 'utf8');
    }, { timeoutMs: READY_TIMEOUT_MS, proc: apiserver });
    const kube = new KubeClient(server, token, ca);
    await waitFor('kube-apiserver /readyz', async () => {
      const res = await kube.request('GET', '/readyz', undefined, { timeoutMs: 5_000 });
      return res.status === 200 ? true : undefined;
    }, { timeoutMs: READY_TIMEOUT_MS, proc: apiserver });

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(server, token, ca), { mode: 0o600 });

    const applyCrds = async (yamlText: string): Promise<string[]> => applyCrdDocuments(kube, yamlText);
    const ourCrds = readdirSync(join(e2eDir, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => readFileSync(join(e2eDir, 'crds', f), 'utf8'));
    // KubeVirt's own CRDs replace our copies of its kinds; all CRDs exist before virt-api/virt-controller start.
    const kubevirtCrdText = kubevirt === undefined ? [] : [await kubevirtCrds(kubevirt.release, { stub: opts.kubevirtStubCrds === true })];
    await applyCrds([...ourCrds, ...kubevirtCrdText, ...(opts.extraCrds ?? [])].join('\n---\n'));

    // After the CRDs: the garbage collector sees the KubeVirt kinds at once instead of at its next
    // discovery refresh (30 s), so a revision owned by a deleted VM goes quickly.
    if (opts.controllerManager === true) {
      const kcm = startProcess('kube-controller-manager', binary('kube-controller-manager'), {
        logPath: join(dir, 'kube-controller-manager.log'),
        args: [
          `--kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          '--secure-port=0',
          '--controllers=namespace-controller,garbage-collector-controller',
          '--v=1',
        ],
      });
      processes.push(kcm);
      // Its own readiness has no endpoint with --secure-port=0; a namespace it finalizes is the proof,
      // and tests that rely on it wait for the effect anyway. Catch an immediate crash here.
      await new Promise((r) => setTimeout(r, 500));
      const code = await Promise.race([kcm.exited, Promise.resolve(undefined)]);
      if (code !== undefined) throw new Error(`kube-controller-manager exited (${code}):\n${kcm.log()}`);
    }

    // Last, after every CRD: both KubeVirt processes exit when CDI CRDs appear. stop() goes in reverse, so
    // virt-controller stops first and virt-api (failurePolicy Fail webhooks) before the API server.
    let kubevirtPlane: KubevirtControlPlane | undefined;
    if (kubevirt !== undefined) {
      const controllerKubeconfig = join(dir, 'kubeconfig-kubevirt-controller');
      writeFileSync(controllerKubeconfig, kubeconfig(server, kubevirt.controllerToken, ca), { mode: 0o600 });
      kubevirtPlane = await startKubevirt({
        release: kubevirt.release,
        kube,
        certs: kubevirt.certs,
        adminKubeconfig: kubeconfigPath,
        controllerKubeconfig,
        dir,
        processes,
      });
    }

    return {
      kubeconfigPath,
      server,
      token,
      ca,
      kube,
      dir,
      processes,
      applyCrds,
      stop,
      ...(audit.path ? { auditLogPath: audit.path } : {}),
      ...(kubevirtPlane === undefined ? {} : { kubevirt: kubevirtPlane }),
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** kube-apiserver flags for a JSON audit log in `dir`: one line per finished request, watches left out. */
function auditArgs(dir: string, responsesOf: string[]): { args: string[]; path: string } {
  const policy = join(dir, 'audit-policy.yaml');
  writeFileSync(
    policy,
    'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived, ResponseStarted]\n' +
      'rules:\n- level: None\n  verbs: [watch]\n' +
      (responsesOf.length > 0 ? `- level: RequestResponse\n  resources: [{ group: "", resources: ${JSON.stringify(responsesOf)} }]\n` : '') +
      '- level: Metadata\n',
  );
  const path = join(dir, 'audit.log');
  // The default (blocking) mode writes each event before the response: nothing is lost or late.
  return { args: [`--audit-policy-file=${policy}`, `--audit-log-path=${path}`, '--audit-log-format=json', '--audit-log-maxsize=0'], path };
}

function kubeconfig(server: string, token: string, ca: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'admin' } }],
      'current-context': 'e2e',
    },
    null,
    2,
  );
}

/** Creates each CRD (or updates it when present) and waits until all are Established and discoverable. */
export async function applyCrdDocuments(kube: KubeClient, yamlText: string): Promise<string[]> {
  // `velero install --dry-run -o yaml` prints one `kind: List`; flatten lists into their items.
  const flat = (loadAll(yamlText) as unknown[]).flatMap((d) =>
    typeof d === 'object' && d !== null && (d as { kind?: unknown }).kind === 'List' ? ((d as { items?: unknown[] }).items ?? []) : [d],
  );
  const docs = flat.filter(
    (d): d is KubeObject => typeof d === 'object' && d !== null && (d as KubeObject).kind === 'CustomResourceDefinition',
  );
  const names: string[] = [];
  for (const crd of docs) {
    const name = crd.metadata.name ?? '';
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions`;
    const res = await kube.request('POST', path, crd);
    if (res.status === 409) {
      const existing = await kube.json('GET', `${path}/${name}`);
      await kube.json('PUT', `${path}/${name}`, { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion ?? '' } });
    } else if (res.status !== 201) {
      throw new Error(`creating CRD ${name}: HTTP ${res.status}: ${res.text.slice(0, 500)}`);
    }
    names.push(name);
  }
  for (const name of names) {
    await waitFor(`CRD ${name} Established`, async () => {
      const crd = (await kube.json('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)) as unknown as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true ? true : undefined;
    }, { timeoutMs: 60_000 });
  }
  // Established precedes discovery by a moment; wait until every served version lists the kind.
  for (const crd of docs) {
    const spec = crd['spec'] as { group: string; names: { kind: string }; versions: { name: string; served: boolean }[] };
    for (const v of spec.versions.filter((x) => x.served)) {
      await waitFor(`${spec.names.kind} in discovery of ${spec.group}/${v.name}`, async () => {
        kube.forget();
        await kube.resourceFor(`${spec.group}/${v.name}`, spec.names.kind);
        return true;
      }, { timeoutMs: 60_000 });
    }
  }
  kube.forget();
  return names;
}
