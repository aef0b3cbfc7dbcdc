// `kubevirt-velero-plugin inspect BACKUP.tar.gz [options]`: what a restore of this backup would do with
// each VirtualMachine, before running it. Reads the tarball as a stream; with --kubeconfig or
// --in-cluster it also looks at the target cluster, read-only. The exit status lets a DR pipeline gate
// on the answer. Errors are one line on stderr, never a stack trace.
import { MISSING_REVISION_POLICIES, type MissingRevisionPolicy, type RevisionOptions } from '../config.ts';
import type { KubeClient } from '../kube/client.ts';
import { isKubeApiError } from '../kube/errors.ts';
import { isNamespaceName } from '../kubevirt/restore-vm.ts';
import { InspectInputError, readBackupTarball } from './backup-archive.ts';
import { formatReport } from './format.ts';
import { predictBackup, type ClusterFacts } from './predict.ts';
import { readClusterFacts } from './target.ts';

export const InspectExit = {
  /** Every VM would come back runnable. */
  runnable: 0,
  /** An unexpected failure of inspect itself. */
  internal: 1,
  /** Bad input: usage, an unreadable or invalid tarball. */
  badInput: 2,
  /** At least one VM would not come back runnable (refused, or missing what it needs). */
  notRunnable: 3,
  /** The target cluster could not be read. */
  clusterError: 4,
} as const;

export const USAGE = `usage: kubevirt-velero-plugin inspect BACKUP.tar.gz [options]

Reads a backup tarball as \`velero backup download\` writes it and prints, for every VirtualMachine,
what a restore of the whole backup would do: its instance type / preference revisions and where they
would come from, its disks, NADs, and the outcome under each missing-revision-policy and expand-vms.

options:
  --output text|json                 output format (default text)
  --namespace-mappings SRC:DST,...   as for velero restore create
  --missing-revision-policy P        judge the exit status by policy P (recreate|expand|fail; default recreate)
  --expand-vms                       judge the exit status with expand-vms=true
  --kubeconfig FILE                  also check the target cluster (read-only)
  --in-cluster                       check the target cluster with the default credentials
                                     (KUBECONFIG, ~/.kube/config or the pod's service account)

exit status: 0 every VM would come back runnable, 3 at least one would not, 2 bad input,
4 the target cluster could not be read, 1 an internal error.
`;

export interface InspectArgs {
  tarball: string;
  output: 'text' | 'json';
  namespaceMapping: Record<string, string>;
  options: RevisionOptions;
  cluster: { kind: 'none' } | { kind: 'kubeconfig'; path: string } | { kind: 'default' };
}

export class UsageError extends Error {
  override name = 'UsageError';
}

function parseMappings(value: string): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const pair of value.split(',').filter(Boolean)) {
    const [from, to, extra] = pair.split(':');
    if (from === undefined || to === undefined || extra !== undefined || !isNamespaceName(from) || !isNamespaceName(to)) {
      throw new UsageError(`--namespace-mappings: "${pair}" is not SRC:DST with two namespace names`);
    }
    mapping[from] = to;
  }
  return mapping;
}

/** Pure: the command line (after `inspect`) as options. */
export function parseInspectArgs(argv: readonly string[]): InspectArgs {
  const args: InspectArgs = {
    tarball: '',
    output: 'text',
    namespaceMapping: {},
    options: { missingRevisionPolicy: 'recreate', expandVirtualMachines: false },
    cluster: { kind: 'none' },
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--output':
      case '-o': {
        const v = value();
        if (v !== 'text' && v !== 'json') throw new UsageError(`--output must be text or json, not "${v}"`);
        args.output = v;
        break;
      }
      case '--namespace-mappings':
        args.namespaceMapping = parseMappings(value());
        break;
      case '--missing-revision-policy': {
        const v = value();
        const policy = MISSING_REVISION_POLICIES.find((p) => p === v);
        if (policy === undefined) throw new UsageError(`--missing-revision-policy must be one of ${MISSING_REVISION_POLICIES.join(', ')}`);
        args.options = { ...args.options, missingRevisionPolicy: policy as MissingRevisionPolicy };
        break;
      }
      case '--expand-vms':
        args.options = { ...args.options, expandVirtualMachines: true };
        break;
      case '--kubeconfig':
        args.cluster = { kind: 'kubeconfig', path: value() };
        break;
      case '--in-cluster':
        args.cluster = { kind: 'default' };
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        positional.push(arg);
    }
  }
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? 'which backup tarball?' : 'one backup tarball at a time');
  args.tarball = positional[0] ?? '';
  return args;
}

/** The API client for the target cluster (the Kubernetes client library is loaded only here). */
async function clusterClient(cluster: InspectArgs['cluster']): Promise<KubeClient | undefined> {
  if (cluster.kind === 'none') return undefined;
  const { KubeClient } = await import('../kube/client.ts');
  if (cluster.kind === 'default') return new KubeClient();
  const { newKubeConfig } = await import('../kube/kubeconfig-loader.ts');
  const kubeConfig = newKubeConfig();
  try {
    kubeConfig.loadFromFile(cluster.path);
  } catch (err) {
    throw new UsageError(`--kubeconfig ${cluster.path}: ${err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err)}`);
  }
  if (kubeConfig.getCurrentCluster() === null) throw new UsageError(`--kubeconfig ${cluster.path}: no current cluster in it`);
  return new KubeClient({ kubeConfig });
}

export interface InspectIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Runs inspect; returns the exit status. Never throws. */
export async function runInspect(argv: readonly string[], io: InspectIo): Promise<number> {
  const fail = (code: number, message: string): number => {
    io.err(`kubevirt-velero-plugin inspect: ${message.split('\n')[0] ?? ''}\n`);
    return code;
  };
  let args: InspectArgs;
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.out(USAGE);
      return InspectExit.runnable;
    }
    args = parseInspectArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(USAGE);
      return fail(InspectExit.badInput, err.message);
    }
    return fail(InspectExit.internal, `internal error: ${String(err)}`);
  }
  try {
    const backup = await readBackupTarball(args.tarball);
    const kube = await clusterClient(args.cluster);
    let cluster: ClusterFacts | undefined;
    if (kube !== undefined) {
      try {
        cluster = await readClusterFacts(kube, backup, args.namespaceMapping);
      } catch (err) {
        return fail(InspectExit.clusterError, `cannot check the target cluster: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const report = predictBackup(backup, { namespaceMapping: args.namespaceMapping, options: args.options, ...(cluster ? { cluster } : {}) });
    io.out(args.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.allRunnable ? InspectExit.runnable : InspectExit.notRunnable;
  } catch (err) {
    if (err instanceof InspectInputError || err instanceof UsageError) return fail(InspectExit.badInput, err.message);
    if (isKubeApiError(err)) return fail(InspectExit.clusterError, `cannot check the target cluster: ${err.message}`);
    return fail(InspectExit.internal, `internal error: ${err instanceof Error ? err.message : String(err)}`);
  }
}
