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
import { kubeForScope, type KubeApi } from '../kube/api.ts';
import { isKubeApiError } from '../kube/errors.ts';
import { Kinds } from '../kubevirt/constants.ts';
import { vmWithMappedNetworks } from '../kubevirt/networks.ts';
import { dedupe, instanceSpecItems, mayComeFromBackup } from '../kubevirt/restore-graph.ts';
import { expandVirtualMachine } from '../kubevirt/expand/index.ts';
import type { ExpandFn } from '../kubevirt/restore-expand.ts';
import { OWN_REVISIONS_OPERATION, revisionsUsedBy } from '../kubevirt/restore-owner.ts';
import { decideAfterAdditionalItems, type RevisionFacts } from '../kubevirt/restore-revision.ts';
import {
  copiesNeeded,
  lateStep,
  planExecute,
  revisionWhat,
  withCopies,
  type MatcherFacts,
  type PlanLog,
} from '../kubevirt/restore-vm-plan.ts';
import {
  applyVmKnobs,
  INSTANCETYPE_API_VERSION,
  isNamespaceName,
  isObjectName,
  jsonObjectAt,
  matchersOf,
  RestoreError,
  withoutRevisionCopies,
  withoutVmNameLabel,
  type MatcherRef,
} from '../kubevirt/restore-vm.ts';
import { revisionCopiesOf, RevisionCopyError, type RevisionCopy } from '../kubevirt/revision-copy.ts';
import { RevisionOwner } from './restore-vm-owner.ts';
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
  /** Progress: finds the restored VM and gives its revisions their owner. */
  private readonly owner: RevisionOwner;

  constructor(options: RestoreVmActionOptions) {
    this.kube = options.kube;
    this.veleroNamespace = options.veleroNamespace;
    // The target cluster sets its own defaults (machine type, CPU model...) when the VM starts.
    this.expand = options.expand ?? ((vm, instancetype, preference) => expandVirtualMachine(vm, instancetype, preference));
    this.newUuid = options.newUuid ?? randomUUID;
    this.now = options.now ?? Date.now;
    this.ownerWaitMs = options.ownerWaitMs ?? DEFAULT_OWNER_WAIT_MS;
    this.owner = new RevisionOwner(this.kube, this.ownerWaitMs, this.now);
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

    // Through the restore's cache: one LIST per kind and namespace answers every VM (instance types and
    // preferences are shared; Velero restores the revisions before the VMs). A name missing from the
    // listing is read on its own: it may have been restored since.
    const cached = kubeForScope(this.kube, restore.metadata.uid);
    let facts: MatcherFacts[] = await Promise.all(
      matchers.map(async (matcher): Promise<MatcherFacts> => {
        const [objectInCluster, inCluster] = await Promise.all([
          cached.get(objectKeyOf(matcher, targetNamespace)),
          matcher.revisionName === undefined ? undefined : cached.get(revisionKey(matcher.revisionName, targetNamespace)),
        ]);
        return { matcher, ...(inCluster ? { inCluster } : {}), ...(objectInCluster ? { objectInCluster } : {}) };
      }),
    );
    // Decoding the copies (gunzip + JSON) is most of Execute's CPU: only when a decision needs them.
    if (copiesNeeded(facts, restoreName, options)) facts = withCopies(facts, this.copiesOf(itemFromBackup, vmKey, log));

    const plan = planExecute({
      item,
      matchers,
      facts,
      options,
      restoreName,
      targetNamespace,
      originalNamespace,
      vmKey,
      expand: this.expand,
      mayComeFromBackup: (id) => mayComeFromBackup(id, backup, restore),
    });
    for (const wanted of plan.wanted) ask(wanted.id, wanted.what);
    emit(log, plan.logs);
    let vm = plan.vm;
    const pendingFacts = plan.pending;
    const operationId = plan.ownRevisions
      ? encodeOperationId({
          operation: OWN_REVISIONS_OPERATION,
          namespace: targetNamespace,
          name: vmName,
          started: new Date(this.now()),
          // A target KubeVirt with referencePolicy expand(All) may expand the VM before Progress runs: then
          // only the ID still names the revisions restored for it.
          objects: revisionsUsedBy(plan.vm),
        })
      : undefined;

    vm = withoutVmNameLabel(withoutRevisionCopies(vm));
    const knobbed = applyVmKnobs(vm, knobs, this.newUuid);
    vm = knobbed.vm;
    if (knobbed.changes.length > 0) log.info(`restore options applied: ${knobbed.changes.join(', ')}`);

    additionalItems.push(...instanceSpecItems(jsonObjectAt(vm, 'spec', 'template', 'spec'), originalNamespace, backup));
    // After the additional items: those name the NADs as they are in the backup.
    const networks = vmWithMappedNetworks(vm, restore.spec?.namespaceMapping);
    vm = networks.vm;
    if (networks.changes.length > 0) log.info(`Multus networks follow the namespace mapping: ${networks.changes.join(', ')}`);

    const restoreKey = restoreKeyOf(restore);
    if (operationId !== undefined) this.owner.register(restoreKey, vmKey);
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
      const step = lateStep(facts, decision, plan.targetNamespace);
      if (step.create !== undefined) await this.createRevision(step.create, revisionWhat(matcher), log);
      emit(log, [step.log]);
      if (step.refusal !== undefined) refusals.push(step.refusal);
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
    if (!isNamespaceName(ref.namespace) || !isObjectName(ref.name) || !(ref.objects ?? []).every(isObjectName)) {
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
      return await this.owner.ownRevisions(restoreKeyOf(restore), ref.namespace, ref.name, ref.objects ?? [], progress, overdue, log);
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

/** The plan's lines, into the restore log. */
function emit(log: Logger, lines: readonly PlanLog[]): void {
  for (const line of lines) log[line.level](line.message, line.fields);
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
