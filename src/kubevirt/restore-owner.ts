// Giving restored revisions back their owner. Velero removes ownerReferences from everything it
// restores, and the VM's new UID exists only after Velero created the VM, i.e. after the action's
// Execute returned. So the action starts a v2 operation whose ID says what to re-own, and Progress does it
// once the VM exists (as KubeVirt's own VM restore claims revisions after creating the VM).
import type { JsonObject, KubeObject, OwnerReference } from '../velero/types.ts';
import { jsonObjectAt } from './restore-vm.ts';

/** The operation name in the v2 operation ID (src/host/operation-id.ts): `own-revisions:<ns>/<vm>:<ms>`. */
export const OWN_REVISIONS_OPERATION = 'own-revisions';

/**
 * The revisions a VM (as it is in the cluster) uses: pinned in its spec or recorded in its status. The
 * restore action pins every revision it kept, so the VM itself says what to re-own and the operation ID
 * needs to name only the VM.
 */
export function revisionsUsedBy(vm: KubeObject): string[] {
  const names = new Set<string>();
  for (const [role, statusRef] of [
    ['instancetype', 'instancetypeRef'],
    ['preference', 'preferenceRef'],
  ] as const) {
    const pinned = jsonObjectAt(vm, 'spec', role)?.['revisionName'];
    if (typeof pinned === 'string' && pinned !== '') names.add(pinned);
    const recorded = jsonObjectAt(vm, 'status', statusRef, 'controllerRevisionRef')?.['name'];
    if (typeof recorded === 'string' && recorded !== '') names.add(recorded);
  }
  return [...names];
}

export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

/** The controller reference KubeVirt puts on a VM's revisions (metav1.NewControllerRef). */
export function controllerRefTo(vm: KubeObject): OwnerReference {
  const uid = vm.metadata.uid;
  const name = vm.metadata.name;
  if (uid === undefined || uid === '' || name === undefined) {
    throw new Error(`VirtualMachine ${name ?? '?'} has no UID yet`);
  }
  return { apiVersion: vm.apiVersion, kind: vm.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * The strategic merge patch that makes the VM a revision's controller. The API server merges owner
 * references by UID, so other owners stay; it changes nothing when the VM already is the controller,
 * and refuses it (422) when another object is, which controllerStatus then explains.
 */
export function controllerPatch(vm: KubeObject): JsonObject {
  return { metadata: { ownerReferences: [{ ...controllerRefTo(vm) }] } };
}

export type ControllerStatus =
  | { state: 'orphan' }
  | { state: 'owned-by-vm' }
  | { state: 'owned-by-other'; owner: OwnerReference };

/** Who controls a revision, seen from the restored VM (read after the API server refused controllerPatch). */
export function controllerStatus(revision: KubeObject, vm: KubeObject): ControllerStatus {
  const controller = controllerOf(revision);
  if (controller === undefined) return { state: 'orphan' };
  return controller.uid === vm.metadata.uid ? { state: 'owned-by-vm' } : { state: 'owned-by-other', owner: controller };
}

/**
 * The part of a VM that re-owning needs (its identity and the revisions it uses): what Progress keeps
 * of a namespace's VM listing, so that 1,000 listed VMs do not stay in memory whole.
 */
export function ownerView(vm: KubeObject): KubeObject {
  const view: KubeObject = {
    apiVersion: vm.apiVersion,
    kind: vm.kind,
    metadata: {
      ...(vm.metadata.name !== undefined ? { name: vm.metadata.name } : {}),
      ...(vm.metadata.namespace !== undefined ? { namespace: vm.metadata.namespace } : {}),
      ...(vm.metadata.uid !== undefined ? { uid: vm.metadata.uid } : {}),
    },
  };
  const spec: JsonObject = {};
  const status: JsonObject = {};
  for (const [role, statusRef] of [
    ['instancetype', 'instancetypeRef'],
    ['preference', 'preferenceRef'],
  ] as const) {
    const pinned = jsonObjectAt(vm, 'spec', role)?.['revisionName'];
    if (typeof pinned === 'string') spec[role] = { revisionName: pinned };
    const recorded = jsonObjectAt(vm, 'status', statusRef, 'controllerRevisionRef')?.['name'];
    if (typeof recorded === 'string') status[statusRef] = { controllerRevisionRef: { name: recorded } };
  }
  view['spec'] = spec;
  view['status'] = status;
  return view;
}
