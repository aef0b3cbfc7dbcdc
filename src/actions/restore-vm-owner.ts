// The I/O half of re-owning restored revisions (restore-vm-action's Progress): finds the restored VM
// through one LIST of its namespace per restore, and gives each revision it uses the VM as controller
// with one strategic merge patch. What the outcome means is decided in src/kubevirt/restore-vm-plan.ts
// (ownerProgress) and src/kubevirt/restore-owner.ts.
import type { KubeApi, ObjectKey } from '../kube/api.ts';
import { isKubeApiError } from '../kube/errors.ts';
import { Kinds, KUBEVIRT_GROUP } from '../kubevirt/constants.ts';
import { controllerPatch, controllerStatus, ownerView, revisionsUsedBy } from '../kubevirt/restore-owner.ts';
import { ownerProgress, type OwnResult } from '../kubevirt/restore-vm-plan.ts';
import type { Logger } from '../velero/actions.ts';
import type { KubeObject, OperationProgress } from '../velero/types.ts';
import { dropOldest } from '../shared/bounded.ts';

const VM_API_VERSION = `${KUBEVIRT_GROUP}/v1`;
/**
 * How long one LIST of a namespace's VMs answers Progress. Velero polls every operation of a restore
 * in one sweep once all items are created, so one listing serves a namespace's 1,000 VMs; the bound
 * keeps a UID from being used long after it was read.
 */
export const VM_LISTING_MAX_AGE_MS = 30_000;
/** Owner patches in flight when the revisions of a namespace's VMs are re-owned ahead, in one batch. */
export const OWN_AHEAD_CONCURRENCY = 8;
/** Restores remembered at once: a plugin process normally serves one. */
const REMEMBERED_RESTORES = 16;

export class RevisionOwner {
  /** Per restore: the VMs ("ns/name") whose execute() in this process started a re-owning operation. */
  private readonly toOwn = new Map<string, Set<string>>();
  /** Per "restore|ns/name": re-owning started ahead by another VM's Progress, awaiting its own Progress. */
  private readonly ownedAhead = new Map<string, Promise<OwnResult[]>>();
  /** Per restore and namespace: the restored VMs (ownerView) from one LIST, and when it was made. */
  private readonly vmListings = new Map<string, { at: number; byName: Promise<Map<string, KubeObject>> }>();

  constructor(
    private readonly kube: KubeApi,
    /** How long after its restore a VM may take to appear before its revisions are reported as orphans. */
    private readonly waitMs: number,
    private readonly now: () => number,
  ) {}

  /** Re-owns the revisions of VM namespace/vmName for its Progress (filling in `progress`). */
  async ownRevisions(
    restoreKey: string,
    namespace: string,
    vmName: string,
    /** The revisions Execute pinned (from the operation ID): an expanded VM no longer names them. */
    restoredFor: string[],
    progress: OperationProgress,
    overdue: boolean,
    log: Logger,
  ): Promise<OperationProgress> {
    const vmKey = `${namespace}/${vmName}`;
    const ahead = this.ownedAhead.get(`${restoreKey}|${vmKey}`);
    if (ahead !== undefined) {
      this.ownedAhead.delete(`${restoreKey}|${vmKey}`);
      const results = await ahead;
      progress.nTotal = results.length;
      Object.assign(progress, ownerProgress(results, vmKey));
      if (!progress.completed) log.debug(progress.description);
      return progress;
    }
    const vm = await this.restoredVm(restoreKey, namespace, vmName);
    if (vm === undefined || !vm.metadata.uid) {
      if (overdue) {
        progress.completed = true;
        progress.err =
          `VirtualMachine ${vmKey} did not appear within ${Math.round(this.waitMs / 1000)} s of its restore, ` +
          `so its instance type / preference revisions were given no owner`;
      } else {
        progress.description = `waiting for VirtualMachine ${vmKey} to be created`;
      }
      return progress;
    }
    this.toOwn.get(restoreKey)?.delete(vmKey);
    await this.ownAhead(restoreKey, namespace, log);
    const used = revisionsUsedBy(vm);
    // KubeVirt (referencePolicy expand/expandAll) expanded the VM from its revisions and references them
    // no more. It deletes only the revisions named in a VM's status, which a restored VM has not, so
    // these would stay orphans: they go with the VM instead, owned by it like any other.
    const expandedAway = restoredFor.filter((name) => !used.includes(name));
    for (const name of expandedAway) {
      log.info(`revision ${name}: VirtualMachine ${vmKey} no longer references it (expanded by KubeVirt); owned by the VM so it goes with it`);
    }
    const revisions = [...used, ...expandedAway];
    progress.nTotal = revisions.length;
    // The revisions are independent: re-own them concurrently.
    const results = await Promise.all(revisions.map((name) => this.ownRevision(name, vm, vmKey, overdue, log)));
    Object.assign(progress, ownerProgress(results, vmKey));
    if (!progress.completed) log.debug(progress.description);
    return progress;
  }

  /** execute() started a re-owning operation for vmKey in this restore. */
  register(restoreKey: string, vmKey: string): void {
    let vms = this.toOwn.get(restoreKey);
    if (vms === undefined) {
      vms = new Set();
      this.toOwn.set(restoreKey, vms);
      dropOldest(this.toOwn, REMEMBERED_RESTORES);
    }
    vms.add(vmKey);
  }

  /**
   * Re-owns, in the background, the revisions of every other VM of `namespace` whose operation this
   * process started and that is already created: Velero calls Progress for one operation after another,
   * so doing them one VM per call would leave the API server idle between calls. Each VM's own Progress
   * then reports what was done (and a VM with a passing failure is tried again by its next poll).
   */
  private async ownAhead(restoreKey: string, namespace: string, log: Logger): Promise<void> {
    const waiting = [...(this.toOwn.get(restoreKey) ?? [])].filter((key) => key.startsWith(`${namespace}/`));
    if (waiting.length === 0) return;
    const listed = await this.vmListings.get(`${restoreKey}|${namespace}`)?.byName;
    const slots = new Limiter(OWN_AHEAD_CONCURRENCY);
    for (const vmKey of waiting) {
      const vm = listed?.get(vmKey.slice(namespace.length + 1));
      if (!vm?.metadata.uid) continue; // not created yet: its own Progress finds it
      // Expanded (by KubeVirt) VMs name no revision: only their own Progress knows them, from its ID.
      if (revisionsUsedBy(vm).length === 0) continue;
      this.toOwn.get(restoreKey)?.delete(vmKey);
      const results = Promise.all(revisionsUsedBy(vm).map((name) => slots.run(() => this.ownRevision(name, vm, vmKey, false, log))));
      // Its own Progress awaits it; until then a failure must not count as unhandled.
      results.catch(() => undefined);
      this.ownedAhead.set(`${restoreKey}|${vmKey}`, results);
    }
  }

  /**
   * The restored VM as re-owning needs it (ownerView), from one LIST of its namespace per restore
   * (refreshed after VM_LISTING_MAX_AGE_MS); a VM missing from the listing is read on its own, since
   * Progress may run while Velero still creates VMs.
   */
  private async restoredVm(restoreKey: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    const key = `${restoreKey}|${namespace}`;
    const now = this.now();
    let listing = this.vmListings.get(key);
    if (listing === undefined || now - listing.at > VM_LISTING_MAX_AGE_MS) {
      const byName = this.kube
        .list({ apiVersion: VM_API_VERSION, kind: Kinds.VirtualMachine, namespace })
        .then((vms) => new Map(vms.map((vm) => [vm.metadata.name ?? '', ownerView(vm)])));
      listing = { at: now, byName };
      this.vmListings.set(key, listing);
      // A failed LIST is not remembered: the next poll lists again.
      byName.catch(() => {
        if (this.vmListings.get(key)?.byName === byName) this.vmListings.delete(key);
      });
      dropOldest(this.vmListings, REMEMBERED_RESTORES);
    }
    const listed = (await listing.byName).get(name);
    if (listed?.metadata.uid) return listed;
    const vm = await this.kube.get({ apiVersion: VM_API_VERSION, kind: Kinds.VirtualMachine, namespace, name });
    return vm === undefined ? undefined : ownerView(vm);
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
  ): Promise<OwnResult> {
    const key = revisionKey(name, vm.metadata.namespace ?? '');
    try {
      // Only whether it took matters: the answer is the revision's metadata, not its definition.
      await this.kube.strategicMergePatch(key, controllerPatch(vm), { answerMetadataOnly: true });
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
  ): Promise<OwnResult> {
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

}

function revisionKey(name: string, namespace: string): ObjectKey {
  return { apiVersion: 'apps/v1', kind: Kinds.ControllerRevision, namespace, name };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** At most `size` promises from run() in flight at a time; the others wait their turn in order. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly size: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
