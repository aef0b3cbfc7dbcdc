// kubevirt-velero-plugin/restore-vm-action (RestoreItemActionV2): brings a VirtualMachine back so that
// it can start with exactly the instance type and preference it had. For every revision the VM
// references, one outcome is decided and logged: restored (from the backup), already there, re-created
// (from the point-in-time copy, else from the current object), expanded, or refused.
//
// Timeline within one VM's restore (Velero, pkg/restore/restore.go):
//   execute()                  -> the VM as it will be created + additional items (from the backup)
//   Velero restores the additional items (revisions, instance types, disks...)
//   areAdditionalItemsReady()  -> revisions the backup did not hold are re-created here, before the VM
//   Velero creates the VM
//   progress(own-revisions)    -> orphan revisions get the new VM as controller
import { randomUUID } from 'node:crypto';
import { loadRevisionOptions, restoreKnobs, type RevisionOptions } from '../config.ts';
import { decodeOperationId, encodeOperationId } from '../host/operation-id.ts';
import { kubeForScope, type KubeApi, type ObjectKey } from '../kube/api.ts';
import { isKubeApiError } from '../kube/errors.ts';
import { Kinds, KUBEVIRT_GROUP } from '../kubevirt/constants.ts';
import { vmWithMappedNetworks } from '../kubevirt/networks.ts';
import { dedupe, instanceSpecItems, matcherObjectItem, mayComeFromBackup, revisionItem } from '../kubevirt/restore-graph.ts';
import { expandVirtualMachine } from '../kubevirt/expand/index.ts';
import { isDefinition, type ExpandFn } from '../kubevirt/restore-expand.ts';
import { controllerPatch, controllerStatus, OWN_REVISIONS_OPERATION, revisionsUsedBy } from '../kubevirt/restore-owner.ts';
import {
  decideAfterAdditionalItems,
  decideAtExecute,
  definitionFor,
  describeObject,
  type RevisionFacts,
} from '../kubevirt/restore-revision.ts';
import {
  applyVmKnobs,
  INSTANCETYPE_API_VERSION,
  isNamespaceName,
  isObjectName,
  jsonObjectAt,
  matchersOf,
  pinRevisions,
  RestoreError,
  withoutRevisionCopies,
  type MatcherRef,
} from '../kubevirt/restore-vm.ts';
import { revisionCopiesOf, RevisionCopyError, type RevisionCopy } from '../kubevirt/revision-copy.ts';
import type {
  Logger,
  RestoreExecuteInput,
  RestoreExecuteOutput,
  RestoreItemAction,
} from '../velero/actions.ts';
import type {
  Backup,
  KubeObject,
  OperationProgress,
  ResourceIdentifier,
  ResourceSelector,
  Restore,
} from '../velero/types.ts';

/** How long Progress waits for the restored VM to appear before it reports the revisions as orphans. */
export const DEFAULT_OWNER_WAIT_MS = 5 * 60_000;

export interface RestoreVmActionOptions {
  kube: KubeApi;
  /** Where the plugin ConfigMap lives (Velero sets VELERO_NAMESPACE in its pod). */
  veleroNamespace: string | undefined;
  /** VM expansion; by default src/kubevirt/expand/ (KubeVirt's semantics, no cluster defaults). */
  expand?: ExpandFn;
  newUuid?: () => string;
  now?: () => number;
  ownerWaitMs?: number;
}

/** What areAdditionalItemsReady still has to decide for the VM whose execute() ran last. */
interface PendingPlan {
  vmKey: string;
  targetNamespace: string;
  restoreName: string;
  options: RevisionOptions;
  facts: RevisionFacts[];
}

const VM_API_VERSION = `${KUBEVIRT_GROUP}/v1`;

export class RestoreVmAction implements RestoreItemAction {
  private readonly kube: KubeApi;
  private readonly veleroNamespace: string | undefined;
  private readonly expand: ExpandFn;
  private readonly newUuid: () => string;
  private readonly now: () => number;
  private readonly ownerWaitMs: number;
  /** Options per restore UID: the ConfigMap is read once per restore. */
  private readonly optionsByRestore = new Map<string, Promise<RevisionOptions>>();
  /** The Backup a restore reads, per restore UID (undefined when it cannot be read). */
  private readonly backupByRestore = new Map<string, Promise<Backup | undefined>>();
  /**
   * Per restore UID. Velero restores one item at a time and calls areAdditionalItemsReady right after
   * the item's execute() in the same plugin process, so the last plan is the one it asks about.
   */
  private readonly pending = new Map<string, PendingPlan>();
  /**
   * VMs refused in areAdditionalItemsReady, by restore and VM: their re-owning operation ends at once
   * instead of waiting for a VM that KubeVirt < 1.6 will not admit. (A plugin process restarted in
   * between has forgotten them; Progress then waits its bounded time.)
   */
  private readonly refused = new Set<string>();

  constructor(options: RestoreVmActionOptions) {
    this.kube = options.kube;
    this.veleroNamespace = options.veleroNamespace;
    // The target cluster sets its own defaults (machine type, CPU model...) when the VM starts.
    this.expand = options.expand ?? ((vm, instancetype, preference) => expandVirtualMachine(vm, instancetype, preference));
    this.newUuid = options.newUuid ?? randomUUID;
    this.now = options.now ?? Date.now;
    this.ownerWaitMs = options.ownerWaitMs ?? DEFAULT_OWNER_WAIT_MS;
  }

  appliesTo(): ResourceSelector {
    return { includedResources: ['virtualmachines.kubevirt.io'] };
  }

  async execute({ item, itemFromBackup, restore, log: baseLog }: RestoreExecuteInput): Promise<RestoreExecuteOutput> {
    const vmName = item.metadata.name ?? '';
    // Velero hands the item over in its ORIGINAL namespace and moves it to the mapped one afterwards.
    const originalNamespace = item.metadata.namespace ?? '';
    if (!isObjectName(vmName) || !isNamespaceName(originalNamespace)) {
      throw new RestoreError(`VirtualMachine "${originalNamespace}/${vmName}" has an invalid name or namespace`);
    }
    const targetNamespace = targetNamespaceOf(restore, originalNamespace);
    const vmKey = `${targetNamespace}/${vmName}`;
    const log = baseLog.with({ vm: vmKey });
    const restoreName = restore.metadata.name ?? '';

    const additionalItems: ResourceIdentifier[] = [];
    const options = await this.optionsFor(restore, log);
    const backup = await this.backupOf(restore, log);
    /** Asks Velero for an object from the backup, unless the filters mean it cannot be there. */
    const ask = (id: ResourceIdentifier, what: string): void => {
      if (mayComeFromBackup(id, backup, restore)) additionalItems.push(id);
      else log.info(`${what} cannot be in the restored part of the backup (resource filters); not asking Velero for it`);
    };
    const knobs = restoreKnobs(restore);
    const matchers = matchersOf(item, itemFromBackup);
    const copies = this.copiesOf(itemFromBackup, vmKey, log);

    // Instance types and preferences are shared by many VMs: look them up through the restore's cache
    // (one LIST per kind and namespace). Revisions are read fresh: they appear during the restore.
    const cached = kubeForScope(this.kube, restore.metadata.uid);
    const facts: (RevisionFacts | { matcher: MatcherRef; objectInCluster?: KubeObject })[] = [];
    for (const matcher of matchers) {
      const objectInCluster = await cached.get(objectKeyOf(matcher, targetNamespace));
      if (objectInCluster === undefined) ask(matcherObjectItem(matcher, originalNamespace), describeObject(matcher));
      if (matcher.revisionName === undefined) {
        facts.push({ matcher, ...(objectInCluster ? { objectInCluster } : {}) });
        continue;
      }
      const inCluster = await this.kube.get(revisionKey(matcher.revisionName, targetNamespace));
      const copy = copies.find((c) => c.name === matcher.revisionName && c.role === matcher.role);
      facts.push({
        matcher: { ...matcher, revisionName: matcher.revisionName },
        ...(copy ? { copy } : {}),
        ...(inCluster ? { inCluster } : {}),
        ...(objectInCluster ? { objectInCluster } : {}),
      });
    }

    const withRevision = facts.filter(hasRevision);
    const decisions = withRevision.map((f) => ({ facts: f, decision: decideAtExecute(f, restoreName) }));
    const anyPending = decisions.some((d) => d.decision.outcome === 'pending');
    const wantExpand = options.expandVirtualMachines || (options.missingRevisionPolicy === 'expand' && anyPending);

    let vm = item;
    let expanded = false;
    if (wantExpand && facts.length > 0) {
      const why = options.expandVirtualMachines ? 'expand-vms is set' : 'missing-revision-policy is expand';
      const result = this.tryExpand(item, facts, vmKey, why, log);
      if (result !== undefined) {
        vm = result;
        expanded = true;
      }
    }

    let operationId: string | undefined;
    const pendingFacts: RevisionFacts[] = [];
    if (!expanded) {
      for (const f of facts) {
        if (!hasRevision(f)) {
          log.info(
            `${f.matcher.role} ${describeObject(f.matcher)}: the VM references no revision; KubeVirt will store one ` +
              `from the object's current definition`,
          );
        }
      }
      for (const { facts: f, decision } of decisions) {
        const what = `${f.matcher.role} revision ${f.matcher.revisionName} (${describeObject(f.matcher)})`;
        if (decision.outcome === 'restored') {
          log.info(`${what}: restored from the backup`, { outcome: 'restored', revision: f.matcher.revisionName });
        } else if (decision.outcome === 'already-there') {
          logAlreadyThere(log, what, f, decision.differs, targetNamespace);
        } else {
          pendingFacts.push(f);
          ask(revisionItem(f.matcher.revisionName, originalNamespace), what);
          log.debug(`${what}: not in namespace ${targetNamespace} yet; asking Velero for it from the backup`);
        }
        if (f.matcher.revisionFrom === 'status') {
          log.info(`${what}: pinned in spec.${f.matcher.role}.revisionName (it was only in the backed-up status)`);
        }
      }
      vm = pinRevisions(vm, matchers);
      if (withRevision.length > 0) {
        operationId = encodeOperationId({
          operation: OWN_REVISIONS_OPERATION,
          namespace: targetNamespace,
          name: vmName,
          started: new Date(this.now()),
        });
      }
    }

    vm = withoutRevisionCopies(vm);
    const knobbed = applyVmKnobs(vm, knobs, this.newUuid);
    vm = knobbed.vm;
    if (knobbed.changes.length > 0) log.info(`restore options applied: ${knobbed.changes.join(', ')}`);

    additionalItems.push(...instanceSpecItems(jsonObjectAt(vm, 'spec', 'template', 'spec'), originalNamespace, backup));
    // After the additional items: those name the NADs as they are in the backup.
    const networks = vmWithMappedNetworks(vm, restore.spec?.namespaceMapping);
    vm = networks.vm;
    if (networks.changes.length > 0) log.info(`Multus networks follow the namespace mapping: ${networks.changes.join(', ')}`);

    const restoreKey = restoreKeyOf(restore);
    if (pendingFacts.length > 0) {
      const previous = this.pending.get(restoreKey);
      if (previous !== undefined) {
        log.warn(`revisions of VirtualMachine ${previous.vmKey} were never checked after their additional items`);
      }
      this.pending.set(restoreKey, { vmKey, targetNamespace, restoreName, options, facts: pendingFacts });
    } else {
      this.pending.delete(restoreKey);
    }

    const out: RestoreExecuteOutput = { item: vm, additionalItems: dedupe(additionalItems) };
    if (operationId !== undefined) out.operationId = operationId;
    if (pendingFacts.length > 0) out.waitForAdditionalItems = true;
    return out;
  }

  async areAdditionalItemsReady(_items: ResourceIdentifier[], restore: Restore, baseLog: Logger): Promise<boolean> {
    const restoreKey = restoreKeyOf(restore);
    const plan = this.pending.get(restoreKey);
    if (plan === undefined) {
      // Only execute() asks Velero to wait, and it always leaves a plan: this process lost it (restarted).
      baseLog.warn(
        'asked about the additional items of a VirtualMachine this plugin process did not prepare (was it ' +
          'restarted?): revisions missing from the backup, if any, were not re-created',
      );
      return true;
    }
    this.pending.delete(restoreKey);
    const log = baseLog.with({ vm: plan.vmKey });
    const refusals: string[] = [];
    for (const stale of plan.facts) {
      const { matcher } = stale;
      const inCluster = await this.kube.get(revisionKey(matcher.revisionName, plan.targetNamespace));
      const objectInCluster = stale.objectInCluster ?? (await this.kube.get(objectKeyOf(matcher, plan.targetNamespace)));
      const facts: RevisionFacts = {
        matcher,
        ...(stale.copy ? { copy: stale.copy } : {}),
        ...(inCluster ? { inCluster } : {}),
        ...(objectInCluster ? { objectInCluster } : {}),
      };
      const policy = plan.options.missingRevisionPolicy === 'fail' ? 'fail' : 'recreate';
      const decision = decideAfterAdditionalItems(facts, policy, plan.restoreName, plan.vmKey, plan.targetNamespace);
      const what = `${matcher.role} revision ${matcher.revisionName} (${describeObject(matcher)})`;
      const fields = { revision: matcher.revisionName, outcome: decision.outcome };
      switch (decision.outcome) {
        case 'restored':
          log.info(`${what}: restored from the backup`, fields);
          break;
        case 'already-there':
          logAlreadyThere(log, what, facts, decision.differs, plan.targetNamespace);
          break;
        case 'recreate-from-copy':
          await this.createRevision(decision.revision, what, log);
          log.info(`${what}: re-created from the point-in-time copy in the backed-up VM (exact)`, fields);
          break;
        case 'recreate-from-object':
          await this.createRevision(decision.revision, what, log);
          log.warn(
            `${what}: re-created from the CURRENT definition of ${describeObject(matcher)}, not the original one ` +
              `(the backup holds neither the revision nor a point-in-time copy of it)`,
            fields,
          );
          break;
        case 'refused':
          log.error(decision.message, fields);
          refusals.push(decision.message);
          break;
      }
    }
    if (refusals.length > 0) {
      if (this.refused.size >= 1000) this.refused.clear();
      this.refused.add(`${restoreKey}|${plan.vmKey}`);
      throw new RestoreError(refusals.join('; '));
    }
    return true;
  }

  async progress(operationId: string, restore: Restore, log: Logger): Promise<OperationProgress> {
    const ref = decodeOperationId(operationId);
    if (ref === undefined || ref.operation !== OWN_REVISIONS_OPERATION) {
      throw new RestoreError(`operation ID "${operationId}" was not started by restore-vm-action`);
    }
    if (!isNamespaceName(ref.namespace) || !isObjectName(ref.name)) {
      throw new RestoreError(`operation ID "${operationId}" names an invalid VirtualMachine`);
    }
    const vmKey = `${ref.namespace}/${ref.name}`;
    const now = this.now();
    const progress: OperationProgress = {
      completed: false,
      err: '',
      nCompleted: 0,
      nTotal: 0,
      operationUnits: 'revisions',
      description: '',
      started: ref.started,
      updated: new Date(now),
    };
    if (this.refused.has(`${restoreKeyOf(restore)}|${vmKey}`)) {
      progress.completed = true;
      progress.err = `VirtualMachine ${vmKey} was refused (see the restore's errors): its revisions were not re-owned`;
      return progress;
    }
    const overdue = now - ref.started.getTime() > this.ownerWaitMs;
    try {
      return await this.ownRevisions(ref.namespace, ref.name, progress, overdue, log);
    } catch (err) {
      // The API server did not answer (or refused): Velero polls again, until the bound has passed.
      if (overdue) {
        progress.completed = true;
        progress.err = `revisions of VirtualMachine ${vmKey} could not be given their owner: ${errorText(err)}`;
      } else {
        progress.description = `retrying after an API error: ${errorText(err)}`;
      }
      return progress;
    }
  }

  private async ownRevisions(
    namespace: string,
    vmName: string,
    progress: OperationProgress,
    overdue: boolean,
    log: Logger,
  ): Promise<OperationProgress> {
    const vmKey = `${namespace}/${vmName}`;
    const ref = { namespace, name: vmName };
    const vm = await this.kube.get({ apiVersion: VM_API_VERSION, kind: Kinds.VirtualMachine, namespace: ref.namespace, name: ref.name });
    if (vm === undefined || !vm.metadata.uid) {
      if (overdue) {
        progress.completed = true;
        progress.err =
          `VirtualMachine ${vmKey} did not appear within ${Math.round(this.ownerWaitMs / 1000)} s of its restore, ` +
          `so its instance type / preference revisions were given no owner`;
      } else {
        progress.description = `waiting for VirtualMachine ${vmKey} to be created`;
      }
      return progress;
    }
    const revisions = revisionsUsedBy(vm);
    progress.nTotal = revisions.length;
    // The revisions are independent: re-own them concurrently (this step is most of a restore's time
    // inside the plugin when done one request after another).
    const results = await Promise.all(revisions.map((name) => this.ownRevision(name, vm, vmKey, overdue, log)));
    const problems = results.flatMap((r) => (r.problem === undefined ? [] : [r.problem]));
    const retries = results.flatMap((r) => (r.retry === undefined ? [] : [r.retry]));
    progress.nCompleted = results.filter((r) => r.owned).length;
    if (retries.length > 0) {
      // Velero shows the description in `velero restore describe --details`: say what is retried and why.
      progress.description = `setting owner references on revisions of VirtualMachine ${vmKey}; retrying: ${retries.join('; ')}`;
      log.debug(progress.description);
      return progress;
    }
    progress.completed = true;
    progress.err = problems.join('; ');
    progress.description =
      problems.length === 0 ? `revisions of VirtualMachine ${vmKey} are owned by it` : `revisions of ${vmKey}: failed`;
    return progress;
  }

  /**
   * Gives one revision its VM as controller; says whether it is done, to retry, or a problem.
   * Velero strips owner references from what it restores, so the usual revision is an orphan: one
   * strategic merge patch adds the VM as controller without reading the revision first. Only when the
   * API server refuses it (another controller) is the revision read, to say who controls it.
   */
  private async ownRevision(
    name: string,
    vm: KubeObject,
    vmKey: string,
    overdue: boolean,
    log: Logger,
  ): Promise<{ owned: boolean; retry?: string; problem?: string }> {
    const key = revisionKey(name, vm.metadata.namespace ?? '');
    try {
      await this.kube.strategicMergePatch(key, controllerPatch(vm));
      log.info(`revision ${name}: owned by VirtualMachine ${vmKey}`, { revision: name, outcome: 'owned' });
      return { owned: true };
    } catch (err) {
      if (isKubeApiError(err) && err.status === 404) {
        return { owned: false, problem: `revision ${name} used by VirtualMachine ${vmKey} does not exist` };
      }
      if (isKubeApiError(err) && err.status === 422) return this.explainController(name, key, vm, vmKey, log);
      // A passing API failure: try again next poll.
      if (overdue) return { owned: false, problem: `revision ${name}: setting its owner failed: ${errorText(err)}` };
      return { owned: false, retry: `revision ${name}: ${errorText(err)}` };
    }
  }

  /** After a refused controllerPatch: a revision controlled by another object is left as it is. */
  private async explainController(
    name: string,
    key: ObjectKey,
    vm: KubeObject,
    vmKey: string,
    log: Logger,
  ): Promise<{ owned: boolean; retry?: string; problem?: string }> {
    const revision = await this.kube.get(key);
    if (revision === undefined) {
      return { owned: false, problem: `revision ${name} used by VirtualMachine ${vmKey} does not exist` };
    }
    const status = controllerStatus(revision, vm);
    // Its controller went away between the refused patch and this read: patch again at the next poll.
    if (status.state === 'orphan') return { owned: false, retry: `revision ${name}: its controller changed meanwhile` };
    if (status.state === 'owned-by-other') {
      log.warn(`revision ${name} is controlled by ${status.owner.kind} ${status.owner.name}, not by VirtualMachine ${vmKey}; left as it is`);
    }
    return { owned: true };
  }

  cancel(operationId: string, _restore: Restore, log: Logger): Promise<void> {
    // Setting an owner reference is a single patch: there is nothing running to stop or undo.
    log.info(`cancel of ${operationId}: nothing to undo`);
    return Promise.resolve();
  }

  private optionsFor(restore: Restore, log: Logger): Promise<RevisionOptions> {
    const key = restoreKeyOf(restore);
    let found = this.optionsByRestore.get(key);
    if (found === undefined) {
      found = loadRevisionOptions(this.kube, restore, this.veleroNamespace).then(({ options, configMap }) => {
        log.info(
          `restore options: missing-revision-policy=${options.missingRevisionPolicy}, ` +
            `expand-vms=${options.expandVirtualMachines} (defaults from ${configMap ?? 'built-in defaults'}, ` +
            `then the Restore's labels)`,
        );
        return options;
      });
      // A failed read is not remembered: the next VM tries again.
      found.catch(() => this.optionsByRestore.delete(key));
      if (this.optionsByRestore.size >= 16) {
        const oldest = this.optionsByRestore.keys().next().value;
        if (oldest !== undefined) this.optionsByRestore.delete(oldest);
      }
      this.optionsByRestore.set(key, found);
    }
    return found;
  }

  private backupOf(restore: Restore, log: Logger): Promise<Backup | undefined> {
    const key = restoreKeyOf(restore);
    let found = this.backupByRestore.get(key);
    if (found === undefined) {
      const name = restore.spec?.backupName ?? '';
      const namespace = restore.metadata.namespace ?? this.veleroNamespace ?? '';
      found =
        isObjectName(name) && isNamespaceName(namespace)
          ? this.kube
              .get({ apiVersion: 'velero.io/v1', kind: 'Backup', namespace, name })
              .then((b) => b as Backup | undefined)
              .catch((err: unknown) => {
                // Only an optimisation (fewer "unable to restore additional item" warnings): go on without.
                log.debug(`Backup ${namespace}/${name} could not be read: ${errorText(err)}`);
                return undefined;
              })
          : Promise.resolve(undefined);
      if (this.backupByRestore.size >= 16) {
        const oldest = this.backupByRestore.keys().next().value;
        if (oldest !== undefined) this.backupByRestore.delete(oldest);
      }
      this.backupByRestore.set(key, found);
    }
    return found;
  }

  private copiesOf(vm: KubeObject, vmKey: string, log: Logger): RevisionCopy[] {
    try {
      return revisionCopiesOf(vm);
    } catch (err) {
      if (!(err instanceof RevisionCopyError)) throw err;
      log.warn(`VirtualMachine ${vmKey}: ignoring its point-in-time revision copies: ${err.message}`);
      return [];
    }
  }

  /** The expanded VM, or undefined (with a warning saying why) when it cannot be expanded. */
  private tryExpand(
    vm: KubeObject,
    facts: readonly (RevisionFacts | { matcher: MatcherRef; objectInCluster?: KubeObject })[],
    vmKey: string,
    why: string,
    log: Logger,
  ): KubeObject | undefined {
    const cannot = (reason: string): undefined => {
      log.warn(`VirtualMachine ${vmKey} is not expanded (${why}): ${reason}; its references are kept`);
      return undefined;
    };
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
      result = this.expand(vm, definitions.instancetype, definitions.preference);
    } catch (err) {
      return cannot(errorText(err));
    }
    if (!result.ok) {
      return cannot(`conflicts: ${result.conflicts.map((c) => `${c.path}: ${c.message}`).join('; ')}`);
    }
    log.info(`VirtualMachine ${vmKey} expanded (${why}): ${sources.join(', ')}; it needs no revision`, {
      outcome: 'expanded',
    });
    return result.vm;
  }

  private async createRevision(revision: KubeObject, what: string, log: Logger): Promise<void> {
    try {
      await this.kube.create(revision);
    } catch (err) {
      // Created meanwhile (by KubeVirt or a concurrent restore): the name is taken, which is what we need.
      if (isKubeApiError(err) && err.status === 409) {
        log.info(`${what}: appeared while being re-created; using the existing one`);
        return;
      }
      throw err;
    }
  }
}

function hasRevision(f: { matcher: MatcherRef }): f is RevisionFacts {
  return f.matcher.revisionName !== undefined;
}

function logAlreadyThere(log: Logger, what: string, f: RevisionFacts, differs: boolean, namespace: string): void {
  const fields = { revision: f.matcher.revisionName, outcome: 'already-there' };
  if (differs) {
    log.warn(
      `${what}: already in namespace ${namespace} and used as it is, but its definition DIFFERS from the ` +
        `point-in-time copy taken at backup`,
      fields,
    );
  } else {
    log.info(`${what}: already in namespace ${namespace}; used as it is`, fields);
  }
}

export function targetNamespaceOf(restore: Restore, originalNamespace: string): string {
  const mapped = restore.spec?.namespaceMapping?.[originalNamespace];
  if (mapped === undefined || mapped === '') return originalNamespace;
  if (!isNamespaceName(mapped)) throw new RestoreError(`namespace mapping ${originalNamespace}:${mapped} is invalid`);
  return mapped;
}

function restoreKeyOf(restore: Restore): string {
  return restore.metadata.uid ?? restore.metadata.name ?? '';
}

function revisionKey(name: string, namespace: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: 'apps/v1', kind: Kinds.ControllerRevision, namespace, name };
}

function objectKeyOf(m: MatcherRef, namespace: string): { apiVersion: string; kind: string; namespace?: string; name: string } {
  return m.clusterScoped
    ? { apiVersion: INSTANCETYPE_API_VERSION, kind: m.kind, name: m.name }
    : { apiVersion: INSTANCETYPE_API_VERSION, kind: m.kind, namespace, name: m.name };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
