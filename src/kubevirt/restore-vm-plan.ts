// What restore-vm-action decides for one VirtualMachine, as data: the VM to create, the lines for the
// restore log, the objects to ask Velero for, the revisions to check after the additional items, and
// the progress of re-owning its revisions. Pure: the action gathers the facts (through the restore's
// cached look-ups) and carries the plan out.
import type { RevisionOptions } from '../config.ts';
import type { KubeObject, ResourceIdentifier } from '../velero/types.ts';
import { matcherObjectItem, revisionItem } from './restore-graph.ts';
import { isDefinition, type ExpandFn } from './restore-expand.ts';
import {
  createdByRestore,
  decideAtExecute,
  definitionFor,
  describeObject,
  type LateDecision,
  type RevisionFacts,
} from './restore-revision.ts';
import { pinRevisions, type MatcherRef } from './restore-vm.ts';
import type { RevisionCopy } from './revision-copy.ts';

/** One line for the restore log (`velero restore logs`). */
export interface PlanLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, string>;
}

/** What is known at Execute about one instance type / preference reference of the VM. */
export type MatcherFacts = RevisionFacts | { matcher: MatcherRef; copy?: RevisionCopy; inCluster?: KubeObject; objectInCluster?: KubeObject };

export function hasRevision(f: MatcherFacts): f is RevisionFacts {
  return f.matcher.revisionName !== undefined;
}

/**
 * Whether the point-in-time copies embedded in the backed-up VM must be decoded (gunzip + JSON of each
 * revision). A revision this restore just brought back from the backup needs no copy; one that was
 * already there is compared with it, a missing one may be re-created from it, and expansion may use it.
 */
export function copiesNeeded(facts: readonly MatcherFacts[], restoreName: string, options: RevisionOptions): boolean {
  // (missing-revision-policy=expand expands only when a revision is missing, which the test below covers.)
  if (options.expandVirtualMachines) return true;
  return facts.some((f) => hasRevision(f) && (f.inCluster === undefined || !createdByRestore(f.inCluster, restoreName)));
}

/** The facts with the copy of each revision attached (the one of the same name and role). */
export function withCopies(facts: readonly MatcherFacts[], copies: readonly RevisionCopy[]): MatcherFacts[] {
  return facts.map((f) => {
    const copy = copies.find((c) => c.name === f.matcher.revisionName && c.role === f.matcher.role);
    return copy === undefined ? f : { ...f, copy };
  });
}

export interface ExecuteInput {
  /** The VM as Velero hands it to Execute. */
  item: KubeObject;
  matchers: readonly MatcherRef[];
  facts: readonly MatcherFacts[];
  options: RevisionOptions;
  restoreName: string;
  targetNamespace: string;
  /** The namespace in the backup (additional items are named in it). */
  originalNamespace: string;
  /** "namespace/name" in the target namespace, for messages. */
  vmKey: string;
  expand: ExpandFn;
  /**
   * Whether Velero may bring this object from the backup as an additional item (the restore's resource
   * filters; see restore-graph.ts mayComeFromBackup). Unset: it may.
   */
  mayComeFromBackup?: (id: ResourceIdentifier) => boolean;
}

export interface ExecutePlan {
  /** The VM pinned to its revisions, or expanded; the copies annotation and knobs are the glue's. */
  vm: KubeObject;
  logs: PlanLog[];
  /** Objects to ask Velero for from the backup, unless the restore's filters mean they cannot be there. */
  wanted: { id: ResourceIdentifier; what: string }[];
  /** Revisions to decide again once Velero restored the additional items. */
  pending: RevisionFacts[];
  /** Start the operation that makes the restored VM its revisions' controller. */
  ownRevisions: boolean;
}

export function revisionWhat(matcher: MatcherRef & { revisionName: string }): string {
  return `${matcher.role} revision ${matcher.revisionName} (${describeObject(matcher)})`;
}

export function alreadyThereLog(what: string, revisionName: string, differs: boolean, namespace: string): PlanLog {
  const fields = { revision: revisionName, outcome: 'already-there' };
  return differs
    ? {
        level: 'warn',
        message:
          `${what}: already in namespace ${namespace} and used as it is, but its definition DIFFERS from the ` +
          `point-in-time copy taken at backup`,
        fields,
      }
    : { level: 'info', message: `${what}: already in namespace ${namespace}; used as it is`, fields };
}

/**
 * A revision not in the cluster at Execute that is nonetheless coming: the backup recorded it as backed
 * up with the VM (in the VM's copy of it) and the restore's filters let Velero bring it. That is the
 * case of a VM restored by label selector, whose revisions come only as its additional items, after
 * this Execute. Without the record (older backups, KubeVirt's Go plugin) nothing is known: missing.
 */
export function comingFromBackup(f: RevisionFacts, originalNamespace: string, mayComeFromBackup: ExecuteInput['mayComeFromBackup']): boolean {
  return f.copy?.inBackup === true && (mayComeFromBackup?.(revisionItem(f.matcher.revisionName, originalNamespace)) ?? true);
}

/** Execute's decisions for one VM: restored, already there, pending (asked from the backup) or expanded. */
export function planExecute(input: ExecuteInput): ExecutePlan {
  const { facts, options, restoreName, targetNamespace, originalNamespace } = input;
  const logs: PlanLog[] = [];
  const wanted: ExecutePlan['wanted'] = [];
  for (const f of facts) {
    if (f.objectInCluster === undefined) wanted.push({ id: matcherObjectItem(f.matcher, originalNamespace), what: describeObject(f.matcher) });
  }
  const withRevision = facts.filter(hasRevision);
  const decisions = withRevision.map((f) => ({ facts: f, decision: decideAtExecute(f, restoreName) }));
  // "Missing" is neither in the cluster nor coming from this restore's backup: only that expands.
  const anyMissing = decisions.some((d) => d.decision.outcome === 'pending' && !comingFromBackup(d.facts, originalNamespace, input.mayComeFromBackup));
  const wantExpand = options.expandVirtualMachines || (options.missingRevisionPolicy === 'expand' && anyMissing);

  if (wantExpand && facts.length > 0) {
    const why = options.expandVirtualMachines ? 'expand-vms is set' : 'missing-revision-policy is expand';
    const expanded = tryExpand(input, why);
    logs.push(expanded.log);
    if (expanded.vm !== undefined) return { vm: expanded.vm, logs, wanted, pending: [], ownRevisions: false };
  }

  const pending: RevisionFacts[] = [];
  for (const f of facts) {
    if (!hasRevision(f)) {
      logs.push({
        level: 'info',
        message:
          `${f.matcher.role} ${describeObject(f.matcher)}: the VM references no revision; KubeVirt will store one ` +
          `from the object's current definition`,
      });
    }
  }
  for (const { facts: f, decision } of decisions) {
    const what = revisionWhat(f.matcher);
    if (decision.outcome === 'restored') {
      logs.push({ level: 'info', message: `${what}: restored from the backup`, fields: { outcome: 'restored', revision: f.matcher.revisionName } });
    } else if (decision.outcome === 'already-there') {
      logs.push(alreadyThereLog(what, f.matcher.revisionName, decision.differs, targetNamespace));
    } else {
      pending.push(f);
      wanted.push({ id: revisionItem(f.matcher.revisionName, originalNamespace), what });
      const recorded = comingFromBackup(f, originalNamespace, input.mayComeFromBackup) ? ' (the backup recorded it)' : '';
      logs.push({ level: 'debug', message: `${what}: not in namespace ${targetNamespace} yet; asking Velero for it from the backup${recorded}` });
    }
    if (f.matcher.revisionFrom === 'status') {
      logs.push({ level: 'info', message: `${what}: pinned in spec.${f.matcher.role}.revisionName (it was only in the backed-up status)` });
    }
  }
  return { vm: pinRevisions(input.item, input.matchers), logs, wanted, pending, ownRevisions: withRevision.length > 0 };
}

/** The expanded VM and the line saying so, or no VM and the warning saying why it is not expanded. */
function tryExpand(input: ExecuteInput, why: string): { vm?: KubeObject; log: PlanLog } {
  const { item, facts, vmKey } = input;
  const cannot = (reason: string): { log: PlanLog } => ({
    log: { level: 'warn', message: `VirtualMachine ${vmKey} is not expanded (${why}): ${reason}; its references are kept` },
  });
  const definitions: Partial<Record<'instancetype' | 'preference', Record<string, unknown>>> = {};
  const sources: string[] = [];
  for (const f of facts) {
    const found = definitionFor(f);
    if (found === undefined || !isDefinition(found.data)) {
      return cannot(`no definition of ${describeObject(f.matcher)} is available (no revision, copy or object)`);
    }
    definitions[f.matcher.role] = found.data;
    const from = { revision: 'its revision', copy: 'the point-in-time copy', object: 'its CURRENT definition' }[found.source];
    sources.push(`${f.matcher.role} ${describeObject(f.matcher)} from ${from}`);
  }
  let result;
  try {
    result = input.expand(item, definitions.instancetype, definitions.preference);
  } catch (err) {
    return cannot(err instanceof Error ? err.message : String(err));
  }
  if (!result.ok) return cannot(`conflicts: ${result.conflicts.map((c) => `${c.path}: ${c.message}`).join('; ')}`);
  return {
    vm: result.vm,
    log: {
      level: 'info',
      message: `VirtualMachine ${vmKey} expanded (${why}): ${sources.join(', ')}; it needs no revision`,
      fields: { outcome: 'expanded' },
    },
  };
}

/** What to do with one late decision: a revision to create first (if any), then the line to log. */
export interface LateStep {
  create?: KubeObject;
  log: PlanLog;
  refusal?: string;
}

export function lateStep(facts: RevisionFacts, decision: LateDecision, targetNamespace: string): LateStep {
  const { matcher } = facts;
  const what = revisionWhat(matcher);
  const fields = { revision: matcher.revisionName, outcome: decision.outcome };
  switch (decision.outcome) {
    case 'restored':
      return { log: { level: 'info', message: `${what}: restored from the backup`, fields } };
    case 'already-there':
      return { log: alreadyThereLog(what, matcher.revisionName, decision.differs, targetNamespace) };
    case 'recreate-from-copy':
      return {
        create: decision.revision,
        log: { level: 'info', message: `${what}: re-created from the point-in-time copy in the backed-up VM (exact)`, fields },
      };
    case 'recreate-from-object':
      return {
        create: decision.revision,
        log: {
          level: 'warn',
          message:
            `${what}: re-created from the CURRENT definition of ${describeObject(matcher)}, not the original one ` +
            `(the backup holds neither the revision nor a point-in-time copy of it)`,
          fields,
        },
      };
    case 'refused':
      return { log: { level: 'error', message: decision.message, fields }, refusal: decision.message };
  }
}

/** The outcome of giving one revision its VM as controller. */
export interface OwnResult {
  owned: boolean;
  /** A passing failure: try again at the next poll. */
  retry?: string;
  problem?: string;
}

/** Progress of re-owning a VM's revisions once every revision was tried. */
export function ownerProgress(
  results: readonly OwnResult[],
  vmKey: string,
): { completed: boolean; err: string; nCompleted: number; description: string } {
  const problems = results.flatMap((r) => (r.problem === undefined ? [] : [r.problem]));
  const retries = results.flatMap((r) => (r.retry === undefined ? [] : [r.retry]));
  const nCompleted = results.filter((r) => r.owned).length;
  if (retries.length > 0) {
    // Velero shows the description in `velero restore describe --details`: say what is retried and why.
    return {
      completed: false,
      err: '',
      nCompleted,
      description: `setting owner references on revisions of VirtualMachine ${vmKey}; retrying: ${retries.join('; ')}`,
    };
  }
  return {
    completed: true,
    err: problems.join('; '),
    nCompleted,
    description: problems.length === 0 ? `revisions of VirtualMachine ${vmKey} are owned by it` : `revisions of ${vmKey}: failed`,
  };
}
