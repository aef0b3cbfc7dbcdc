// What a restore of a whole backup would do with each VirtualMachine in it, decided by the SAME pure
// functions the restore action runs (restore-vm-plan.ts's planExecute and lateStep, restore-revision.ts,
// restore-vm.ts, revision-copy.ts, the expansion), fed with what the backup holds and, when a target
// cluster was checked, what it holds.
//
// The model of the restore is the one the action lives in (restore-vm-action.ts): Velero restores the
// backup's ControllerRevisions and instance types / preferences before the VMs (resources outside
// Velero's priority list are restored in alphabetical order: controllerrevisions.apps and
// virtualmachine{cluster,}{instancetypes,preferences} sort before virtualmachines.kubevirt.io), so at the VM's Execute a revision in the backup is "restored" and
// the object is there; a revision neither there nor in the target cluster is decided after the
// additional items, by the policy. Objects that already exist in the target stay as they are (Velero
// does not overwrite), so they win over the backup's.
import { DEFAULT_REVISION_OPTIONS, type MissingRevisionPolicy, type RevisionOptions } from '../config.ts';
import { expandVirtualMachine } from '../kubevirt/expand/index.ts';
import { PluginLabels, Resources } from '../kubevirt/constants.ts';
import { decideAfterAdditionalItems, describeObject, VeleroLabels, veleroLabelValue } from '../kubevirt/restore-revision.ts';
import { lateStep, planExecute, type PlanLog } from '../kubevirt/restore-vm-plan.ts';
import { matchersOf, RestoreError, type MatcherRef } from '../kubevirt/restore-vm.ts';
import { revisionCopiesOf, RevisionCopyError, type RevisionCopy } from '../kubevirt/revision-copy.ts';
import { nameLabelValue } from '../kubevirt/plugin-labels.ts';
import { accessCredentialSecrets, at, asString, dataVolumeTemplateNames, volumeRefs, vmTemplateSpec, type VolumeRef } from '../kubevirt/vm.ts';
import type { KubeObject } from '../velero/types.ts';
import { itemKey, type BackupContents } from './backup-archive.ts';

/** The restore name the simulation uses (any valid name: only "created by this restore" matters). */
const SIMULATED_RESTORE = 'inspect';

/** What the target cluster holds, as far as inspect looked (see target.ts). */
export interface ClusterFacts {
  /** Keys: "namespace/name". */
  revisions: Map<string, KubeObject>;
  /** Keys: objectKey(). */
  objects: Map<string, KubeObject>;
  namespaces: Set<string>;
  storageClasses: Set<string>;
  /** Objects the VMs mount that the backup lacks, found in the target namespace; keys: itemKey(). */
  volumes: Set<string>;
}

export function objectKey(m: Pick<MatcherRef, 'kind' | 'name' | 'clusterScoped'>, namespace: string): string {
  return `${m.kind}|${m.clusterScoped ? '' : namespace}|${m.name}`;
}

export type RevisionSource = 'backup' | 'target-cluster' | 'embedded-copy' | 'current-object' | 'nowhere';

export interface RevisionReport {
  name: string;
  inBackup: boolean;
  embeddedCopy: boolean;
  /** undefined when no target cluster was checked. */
  inTargetCluster?: boolean;
  /** Where a restore (default policy) gets it from. */
  source: RevisionSource;
}

export interface MatcherReport {
  role: 'instancetype' | 'preference';
  kind: string;
  name: string;
  objectInBackup: boolean;
  objectInTargetCluster?: boolean;
  revision?: RevisionReport;
}

export interface VolumeReport {
  /** The volume's name in the VM spec ('' for access credentials). */
  volume: string;
  kind: string;
  name: string;
  inBackup: boolean;
  /** Checked only for objects the backup lacks, and only with a target cluster. */
  inTargetCluster?: boolean;
  /** For DataVolumes and PVCs: the storage class the claim asks for, when it names one. */
  storageClass?: string;
  storageClassInTargetCluster?: boolean;
  /** A DataVolume of spec.dataVolumeTemplates: KubeVirt creates it when missing (without the backup's data). */
  fromTemplate?: boolean;
}

export interface NadReport {
  namespace: string;
  name: string;
  inBackup: boolean;
}

/**
 * refused: the restore reports an error naming the VM and what it lacks; Velero still creates the VM,
 * which KubeVirt < 1.6 rejects and KubeVirt >= 1.6 admits without being able to start it.
 */
export type VmResult = 'restored' | 'expanded' | 'refused';

export interface ScenarioReport {
  /** "missing-revision-policy=recreate", ..., "expand-vms=true". */
  scenario: string;
  result: VmResult;
  /** Outcome per revision (restored, already-there, recreate-from-copy, ...), when not expanded. */
  revisions: { role: string; name: string; outcome: string }[];
  runnable: boolean;
  /** Why the VM would not come back runnable, or what is not exact. */
  notes: string[];
}

export interface VmReport {
  namespace: string;
  name: string;
  targetNamespace: string;
  /** `velero restore create --selector <selector>` restores this VM alone (backups made with this plugin). */
  selector: string;
  /** Whether the stored VM carries the plugin's name label (i.e. was backed up through this plugin). */
  labelled: boolean;
  runStrategy: string;
  matchers: MatcherReport[];
  volumes: VolumeReport[];
  nads: NadReport[];
  /** One per policy, then expand-vms; `selected` is the one the exit status is judged by. */
  scenarios: ScenarioReport[];
  selected: ScenarioReport;
  /** Problems that make the VM unrestorable whatever the policy (an invalid reference...). */
  problems: string[];
}

export interface PredictOptions {
  namespaceMapping: Record<string, string>;
  /** The options the exit status is judged by (default: the plugin's defaults). */
  options?: RevisionOptions;
  /** undefined: no target cluster checked; an empty target is assumed. */
  cluster?: ClusterFacts;
}

export const SCENARIOS: readonly { scenario: string; options: RevisionOptions }[] = [
  ...(['recreate', 'expand', 'fail'] as MissingRevisionPolicy[]).map((p) => ({
    scenario: `missing-revision-policy=${p}`,
    options: { missingRevisionPolicy: p, expandVirtualMachines: false },
  })),
  { scenario: 'expand-vms=true', options: { missingRevisionPolicy: 'recreate', expandVirtualMachines: true } },
];

function scenarioName(options: RevisionOptions): string {
  return options.expandVirtualMachines ? 'expand-vms=true' : `missing-revision-policy=${options.missingRevisionPolicy}`;
}

const MATCHER_RESOURCE: Record<string, string> = {
  VirtualMachineInstancetype: `${Resources.instancetypes}.instancetype.kubevirt.io`,
  VirtualMachineClusterInstancetype: `${Resources.clusterInstancetypes}.instancetype.kubevirt.io`,
  VirtualMachinePreference: `${Resources.preferences}.instancetype.kubevirt.io`,
  VirtualMachineClusterPreference: `${Resources.clusterPreferences}.instancetype.kubevirt.io`,
};

export const VOLUME_RESOURCE: Record<string, string> = {
  DataVolume: 'datavolumes.cdi.kubevirt.io',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  MemoryDump: 'persistentvolumeclaims',
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  ServiceAccount: 'serviceaccounts',
};

const NAD_RESOURCE = 'network-attachment-definitions.k8s.cni.cncf.io';

/** The VirtualMachines of a backup. */
export function vmsOf(backup: BackupContents): KubeObject[] {
  return [...backup.parsed.entries()].filter(([key]) => key.startsWith('virtualmachines.kubevirt.io|')).map(([, vm]) => vm);
}

function runStrategyOf(vm: KubeObject): string {
  const strategy = asString(at(vm, 'spec', 'runStrategy'));
  if (strategy !== undefined) return strategy;
  const running = at(vm, 'spec', 'running');
  if (running === true) return 'Always (spec.running)';
  if (running === false) return 'Halted (spec.running)';
  return 'Halted (none set)';
}

/** A revision as Velero leaves it after restoring it from the backup in this restore. */
function restoredFromBackup(revision: KubeObject): KubeObject {
  return { ...revision, metadata: { ...revision.metadata, labels: { ...revision.metadata.labels, [VeleroLabels.restoreName]: veleroLabelValue(SIMULATED_RESTORE) } } };
}

/** The storage class a PVC or DataVolume asks for. */
export function storageClassOf(obj: KubeObject | undefined): string | undefined {
  return asString(at(obj, 'spec', 'storageClassName')) ?? asString(at(obj, 'spec', 'storage', 'storageClassName')) ?? asString(at(obj, 'spec', 'pvc', 'storageClassName'));
}

interface VmContext {
  vm: KubeObject;
  vmKey: string;
  namespace: string;
  targetNamespace: string;
  matchers: MatcherRef[];
  copies: RevisionCopy[];
  backup: BackupContents;
  cluster: ClusterFacts | undefined;
}

function objectInBackup(ctx: VmContext, m: MatcherRef): KubeObject | undefined {
  return ctx.backup.parsed.get(itemKey({ resource: MATCHER_RESOURCE[m.kind] ?? '', namespace: m.clusterScoped ? '' : ctx.namespace, name: m.name }));
}

function revisionInBackup(ctx: VmContext, name: string): KubeObject | undefined {
  return ctx.backup.parsed.get(itemKey({ resource: 'controllerrevisions.apps', namespace: ctx.namespace, name }));
}

/** The facts the action has at Execute (plus the object, which a whole-backup restore brings before the VM). */
function factsAtExecute(ctx: VmContext, m: MatcherRef): { matcher: MatcherRef; copy?: RevisionCopy; inCluster?: KubeObject; objectInCluster?: KubeObject } {
  const objectInCluster = ctx.cluster?.objects.get(objectKey(m, ctx.targetNamespace)) ?? objectInBackup(ctx, m);
  const base = objectInCluster === undefined ? { matcher: m } : { matcher: m, objectInCluster };
  if (m.revisionName === undefined) return base;
  const fromBackup = revisionInBackup(ctx, m.revisionName);
  const inCluster = ctx.cluster?.revisions.get(`${ctx.targetNamespace}/${m.revisionName}`) ?? (fromBackup ? restoredFromBackup(fromBackup) : undefined);
  const copy = ctx.copies.find((c) => c.name === m.revisionName && c.role === m.role);
  return { ...base, ...(copy ? { copy } : {}), ...(inCluster ? { inCluster } : {}) };
}

interface Simulated {
  scenario: string;
  result: VmResult;
  revisions: { role: string; name: string; outcome: string }[];
  notes: string[];
  /** Why KubeVirt could not start the VM even though it is restored. */
  blockers: string[];
}

/**
 * The restore action's plan for one VM under `options`: planExecute() as at Execute, then, for the
 * revisions still pending, the late decision and step the action takes in AreAdditionalItemsReady
 * (restore-vm-action.ts) - the same functions, fed with the facts a whole-backup restore would have.
 * The outcomes are read from the plan's own log lines, as the e2e test reads them from the restore log.
 */
function simulate(ctx: VmContext, options: RevisionOptions): Simulated {
  const scenario = scenarioName(options);
  const facts = ctx.matchers.map((m) => factsAtExecute(ctx, m));
  const plan = planExecute({
    item: ctx.vm,
    matchers: ctx.matchers,
    facts,
    options,
    restoreName: SIMULATED_RESTORE,
    targetNamespace: ctx.targetNamespace,
    originalNamespace: ctx.namespace,
    vmKey: ctx.vmKey,
    expand: (vm, instancetype, preference) => expandVirtualMachine(vm, instancetype, preference),
  });
  const logs: PlanLog[] = [...plan.logs];
  // As the action: only "fail" refuses late; "expand" was handled at Execute and falls back to recreate.
  const policy = options.missingRevisionPolicy === 'fail' ? 'fail' : 'recreate';
  let refused = false;
  for (const pending of plan.pending) {
    // Pending means neither the target nor the backup holds the revision, so nothing changed meanwhile.
    const step = lateStep(pending, decideAfterAdditionalItems(pending, policy, SIMULATED_RESTORE, ctx.vmKey, ctx.targetNamespace), ctx.targetNamespace);
    logs.push(step.log);
    if (step.refusal !== undefined) refused = true;
  }
  const expanded = logs.some((l) => l.fields?.['outcome'] === 'expanded');
  const roleOf = (revision: string): string => ctx.matchers.find((m) => m.revisionName === revision)?.role ?? '';
  const revisions = logs.flatMap((l) => {
    const revision = l.fields?.['revision'];
    const outcome = l.fields?.['outcome'];
    return revision !== undefined && outcome !== undefined ? [{ role: roleOf(revision), name: revision, outcome }] : [];
  });
  // What the action warns about (a definition that differs, a re-creation that is not exact, an expansion
  // that could not be done) or refuses with.
  const notes = logs.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.message);
  const blockers: string[] = [];
  for (const f of facts) {
    // No revision known: KubeVirt stores one from the object when the VM starts, so the object must exist.
    if (!expanded && f.matcher.revisionName === undefined && f.objectInCluster === undefined) {
      blockers.push(`${describeObject(f.matcher)} is neither in the backup nor in the target cluster`);
    }
  }
  return { scenario, result: refused ? 'refused' : expanded ? 'expanded' : 'restored', revisions: expanded ? [] : revisions, notes, blockers };
}

function sourceOf(ctx: VmContext, m: MatcherRef & { revisionName: string }): RevisionSource {
  if (ctx.cluster?.revisions.has(`${ctx.targetNamespace}/${m.revisionName}`)) return 'target-cluster';
  if (revisionInBackup(ctx, m.revisionName) !== undefined) return 'backup';
  if (ctx.copies.some((c) => c.name === m.revisionName && c.role === m.role)) return 'embedded-copy';
  if (ctx.cluster?.objects.has(objectKey(m, ctx.targetNamespace)) || objectInBackup(ctx, m) !== undefined) return 'current-object';
  return 'nowhere';
}

/** The objects a VM's instance mounts: volumes and access-credential secrets. */
export function mountedObjects(vm: KubeObject): VolumeRef[] {
  const spec = vmTemplateSpec(vm);
  return [...volumeRefs(spec), ...accessCredentialSecrets(spec).map((name) => ({ kind: 'Secret' as const, name, volume: '' }))];
}

function volumesOf(ctx: VmContext): VolumeReport[] {
  const templates = dataVolumeTemplateNames(ctx.vm);
  return mountedObjects(ctx.vm).map((ref) => {
    const resource = VOLUME_RESOURCE[ref.kind] ?? '';
    const key = itemKey({ resource, namespace: ctx.namespace, name: ref.name });
    let inBackup = ctx.backup.items.has(key);
    let storageClass = storageClassOf(ctx.backup.parsed.get(key));
    if (ref.kind === 'DataVolume') {
      // The PVC alone restores the disk too (CDI adopts it; the restore-pvc-action keeps it populated),
      // and the class it names is the one the restored claim asks for.
      const pvcKey = itemKey({ resource: 'persistentvolumeclaims', namespace: ctx.namespace, name: ref.name });
      inBackup = inBackup || ctx.backup.items.has(pvcKey);
      storageClass = storageClassOf(ctx.backup.parsed.get(pvcKey)) ?? storageClass;
    }
    const report: VolumeReport = { volume: ref.volume, kind: ref.kind, name: ref.name, inBackup };
    if (!inBackup && ctx.cluster !== undefined) {
      const inTarget = (resource: string): boolean => ctx.cluster?.volumes.has(itemKey({ resource, namespace: ctx.targetNamespace, name: ref.name })) ?? false;
      report.inTargetCluster = inTarget(resource) || (ref.kind === 'DataVolume' && inTarget('persistentvolumeclaims'));
    }
    if (storageClass !== undefined) {
      report.storageClass = storageClass;
      if (ctx.cluster !== undefined) report.storageClassInTargetCluster = ctx.cluster.storageClasses.has(storageClass);
    }
    if (ref.kind === 'DataVolume' && templates.has(ref.name)) report.fromTemplate = true;
    return report;
  });
}

function nadsOf(ctx: VmContext): NadReport[] {
  const networks = at(vmTemplateSpec(ctx.vm), 'networks');
  const out: NadReport[] = [];
  for (const network of Array.isArray(networks) ? networks : []) {
    const ref = asString(at(network, 'multus', 'networkName'));
    if (ref === undefined) continue;
    const [namespace, name] = ref.includes('/') ? (ref.split('/', 2) as [string, string]) : [ctx.namespace, ref];
    out.push({ namespace, name, inBackup: ctx.backup.items.has(itemKey({ resource: NAD_RESOURCE, namespace, name })) });
  }
  return out;
}

/** Whether the VM, restored as `scenario` says, can start: the VM exists and everything it mounts is there. */
function judge(simulated: Simulated, volumes: VolumeReport[], nads: NadReport[]): ScenarioReport {
  const { blockers, ...base } = simulated;
  const notes = [...base.notes, ...blockers];
  let runnable = base.result !== 'refused' && blockers.length === 0;
  for (const v of volumes) {
    if (!v.inBackup && v.inTargetCluster === true) {
      notes.push(`${v.kind} ${v.name} is not in the backup; the one in the target namespace is used`);
    } else if (!v.inBackup && !v.fromTemplate) {
      runnable = false;
      notes.push(`${v.kind} ${v.name} is not in the backup${v.inTargetCluster === false ? ' nor in the target namespace' : ''}`);
    } else if (!v.inBackup && v.fromTemplate) {
      notes.push(`DataVolume ${v.name} is not in the backup: KubeVirt creates it from spec.dataVolumeTemplates, WITHOUT the backed-up data`);
    }
    if (v.storageClassInTargetCluster === false) {
      runnable = false;
      notes.push(`storage class ${v.storageClass ?? ''} of ${v.kind} ${v.name} does not exist in the target cluster`);
    }
  }
  for (const n of nads) {
    if (!n.inBackup) notes.push(`NetworkAttachmentDefinition ${n.namespace}/${n.name} is not in the backup (it must exist in the target)`);
  }
  return { ...base, notes, runnable };
}

export function predictVm(vm: KubeObject, backup: BackupContents, opts: PredictOptions): VmReport {
  const namespace = vm.metadata.namespace ?? '';
  const name = vm.metadata.name ?? '';
  const mapped = opts.namespaceMapping[namespace];
  const targetNamespace = mapped !== undefined && mapped !== '' ? mapped : namespace;
  const vmKey = `${targetNamespace}/${name}`;
  const problems: string[] = [];
  let matchers: MatcherRef[] = [];
  try {
    matchers = matchersOf(vm, vm);
  } catch (err) {
    if (!(err instanceof RestoreError)) throw err;
    problems.push(err.message);
  }
  let copies: RevisionCopy[] = [];
  try {
    copies = revisionCopiesOf(vm);
  } catch (err) {
    if (!(err instanceof RevisionCopyError)) throw err;
    problems.push(`its point-in-time revision copies are unreadable and would be ignored: ${err.message}`);
  }
  const ctx: VmContext = { vm, vmKey, namespace, targetNamespace, matchers, copies, backup, cluster: opts.cluster };
  const volumes = volumesOf(ctx);
  const nads = nadsOf(ctx);
  const invalid = problems.length > 0 && matchers.length === 0 && at(vm, 'spec', 'instancetype') !== undefined;
  const scenarios = SCENARIOS.map(({ options }) => {
    if (invalid) return { scenario: scenarioName(options), result: 'refused' as const, revisions: [], notes: [...problems], runnable: false };
    return judge(simulate(ctx, options), volumes, nads);
  });
  const selectedName = scenarioName(opts.options ?? DEFAULT_REVISION_OPTIONS);
  const selected = scenarios.find((s) => s.scenario === selectedName) ?? (scenarios[0] as ScenarioReport);
  const labelled = vm.metadata.labels?.[PluginLabels.vmName] === nameLabelValue(name);
  return {
    namespace,
    name,
    targetNamespace,
    selector: `${PluginLabels.vmName}=${nameLabelValue(name)}`,
    labelled,
    runStrategy: runStrategyOf(vm),
    matchers: matchers.map((m) => {
      const report: MatcherReport = { role: m.role, kind: m.kind, name: m.name, objectInBackup: objectInBackup(ctx, m) !== undefined };
      if (opts.cluster !== undefined) report.objectInTargetCluster = opts.cluster.objects.has(objectKey(m, targetNamespace));
      if (m.revisionName !== undefined) {
        const withName = { ...m, revisionName: m.revisionName };
        report.revision = {
          name: m.revisionName,
          inBackup: revisionInBackup(ctx, m.revisionName) !== undefined,
          embeddedCopy: copies.some((c) => c.name === m.revisionName && c.role === m.role),
          ...(opts.cluster !== undefined ? { inTargetCluster: opts.cluster.revisions.has(`${targetNamespace}/${m.revisionName}`) } : {}),
          source: sourceOf(ctx, withName),
        };
      }
      return report;
    }),
    volumes,
    nads,
    scenarios,
    selected,
    problems,
  };
}

export interface InspectReport {
  formatVersion: string | undefined;
  items: number;
  clusterChecked: boolean;
  /** Target namespaces and whether they exist (only with a cluster check). */
  namespaces?: Record<string, boolean>;
  /** The options the verdict is judged by. */
  judgedBy: string;
  vms: VmReport[];
  /** Every VM would come back runnable under the judged options. */
  allRunnable: boolean;
}

export function predictBackup(backup: BackupContents, opts: PredictOptions): InspectReport {
  const vms = vmsOf(backup)
    .map((vm) => predictVm(vm, backup, opts))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const report: InspectReport = {
    formatVersion: backup.formatVersion,
    items: backup.items.size,
    clusterChecked: opts.cluster !== undefined,
    judgedBy: scenarioName(opts.options ?? DEFAULT_REVISION_OPTIONS),
    vms,
    allRunnable: vms.every((v) => v.selected.runnable),
  };
  if (opts.cluster !== undefined) {
    const namespaces: Record<string, boolean> = {};
    for (const v of vms) namespaces[v.targetNamespace] = opts.cluster.namespaces.has(v.targetNamespace);
    report.namespaces = namespaces;
  }
  return report;
}
