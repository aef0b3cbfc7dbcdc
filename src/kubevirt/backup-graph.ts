// The related-items graph of a VirtualMachine (or a standalone VirtualMachineInstance) at backup
// time: every object the VM needs to come back exactly as it was. Pure code: the action first asks
// planLookups() what to read from the cluster, reads it, and hands the answers over as a World.
import type { ObjectKey } from '../kube/api.ts';
import { isValidObjectName } from '../kube/errors.ts';
import type { KubeObject, ResourceIdentifier } from '../velero/types.ts';
import { CDI_GROUP, INSTANCETYPE_GROUP, KUBEVIRT_GROUP, Kinds, KubevirtMarkers, MULTUS_GROUP, Resources } from './constants.ts';
import { multusNetworks } from './networks.ts';
import {
  accessCredentialSecrets,
  effectiveRevisionName,
  labelsOf,
  launcherPodOf,
  matchersOf,
  needsBackendStorage,
  qualifiedName,
  vmHasVmi,
  vmTemplateSpec,
  volumeRefs,
  type MatcherRef,
} from './vm.ts';

/** apiVersion used to read each kind the graph looks up. */
export const LOOKUP_API_VERSIONS: Record<string, string> = {
  [Kinds.Instancetype]: `${INSTANCETYPE_GROUP}/v1beta1`,
  [Kinds.ClusterInstancetype]: `${INSTANCETYPE_GROUP}/v1beta1`,
  [Kinds.Preference]: `${INSTANCETYPE_GROUP}/v1beta1`,
  [Kinds.ClusterPreference]: `${INSTANCETYPE_GROUP}/v1beta1`,
  [Kinds.ControllerRevision]: 'apps/v1',
  [Kinds.VirtualMachine]: `${KUBEVIRT_GROUP}/v1`,
  [Kinds.VirtualMachineInstance]: `${KUBEVIRT_GROUP}/v1`,
  [Kinds.DataVolume]: `${CDI_GROUP}/v1beta1`,
  [Kinds.PersistentVolumeClaim]: 'v1',
  [Kinds.Pod]: 'v1',
};

export const CLUSTER_KINDS: ReadonlySet<string> = new Set([Kinds.ClusterInstancetype, Kinds.ClusterPreference]);

/** What the cluster looked like when the item was backed up, as far as the graph needs to know. */
export class World {
  constructor(
    /** Looked-up objects by worldKey(kind, name): null when the object does not exist. */
    private readonly objects: ReadonlyMap<string, KubeObject | null> = new Map(),
    /** The namespace's virt-launcher pods, when looked up. */
    readonly launcherPods: readonly KubeObject[] = [],
    /** The namespace's PVCs, when looked up (backend storage is found by label). */
    readonly pvcs: readonly KubeObject[] = [],
  ) {}

  /** The object; null when it was looked up and does not exist; undefined when it was not looked up. */
  get(kind: string, name: string): KubeObject | null | undefined {
    return this.objects.get(worldKey(kind, name));
  }
}

export function worldKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

export interface LookupPlan {
  objects: ObjectKey[];
  launcherPods: boolean;
  pvcs: boolean;
}

/** Builds the ObjectKey to read a kind the graph knows, in the VM's namespace unless cluster-scoped. */
export function lookupKey(kind: string, name: string, namespace: string): ObjectKey {
  const apiVersion = LOOKUP_API_VERSIONS[kind] ?? 'v1';
  return CLUSTER_KINDS.has(kind) ? { apiVersion, kind, name } : { apiVersion, kind, name, namespace };
}

export interface PlanOptions {
  /** Look up the VMI (safety checks of a running VM). */
  vmi: boolean;
  /** Look up the DataVolumes and PVCs of the volumes (restorability checks). */
  volumes: boolean;
}

/** The reads a VM backup needs. Names that are not valid Kubernetes names are never looked up. */
export function planVmLookups(vm: KubeObject, options: PlanOptions): LookupPlan {
  const namespace = vm.metadata.namespace ?? '';
  const name = vm.metadata.name ?? '';
  const keys = new Map<string, ObjectKey>();
  const add = (kind: string, objectName: string | undefined): void => {
    if (objectName === undefined || !isValidObjectName(objectName)) return;
    keys.set(worldKey(kind, objectName), lookupKey(kind, objectName, namespace));
  };
  for (const matcher of matchersOf(vm)) {
    if (matcher.kind !== undefined) add(matcher.kind, matcher.name);
    add(Kinds.ControllerRevision, matcher.statusRevisionName);
    add(Kinds.ControllerRevision, matcher.specRevisionName);
  }
  if (options.vmi) add(Kinds.VirtualMachineInstance, name);
  const spec = vmTemplateSpec(vm);
  if (options.volumes) {
    for (const ref of volumeRefs(spec)) {
      if (ref.kind === 'DataVolume') {
        add(Kinds.DataVolume, ref.name);
        add(Kinds.PersistentVolumeClaim, ref.name);
      } else if (ref.kind === 'PersistentVolumeClaim') {
        add(Kinds.PersistentVolumeClaim, ref.name);
      }
    }
  }
  return { objects: [...keys.values()], launcherPods: vmHasVmi(vm), pvcs: needsBackendStorage(spec) };
}

/** The reads a VMI backup needs. */
export function planVmiLookups(vmi: KubeObject, options: { owner: boolean; volumes: boolean }): LookupPlan {
  const namespace = vmi.metadata.namespace ?? '';
  const keys = new Map<string, ObjectKey>();
  const add = (kind: string, objectName: string | undefined): void => {
    if (objectName === undefined || !isValidObjectName(objectName)) return;
    keys.set(worldKey(kind, objectName), lookupKey(kind, objectName, namespace));
  };
  if (options.owner) add(Kinds.VirtualMachine, vmi.metadata.name);
  if (options.volumes) {
    for (const ref of volumeRefs(vmi['spec'])) {
      if (ref.kind === 'DataVolume') {
        add(Kinds.DataVolume, ref.name);
        add(Kinds.PersistentVolumeClaim, ref.name);
      } else if (ref.kind === 'PersistentVolumeClaim') {
        add(Kinds.PersistentVolumeClaim, ref.name);
      }
    }
  }
  return { objects: [...keys.values()], launcherPods: true, pvcs: needsBackendStorage(vmi['spec']) };
}

export interface GraphResult {
  items: ResourceIdentifier[];
  warnings: string[];
}

class ItemList {
  readonly items: ResourceIdentifier[] = [];
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();
  constructor(readonly owner: string) {}

  add(group: string, resource: string, namespace: string, name: string, why: string): void {
    if (!isValidObjectName(name)) {
      this.warnings.push(`${this.owner}: ${why} ${JSON.stringify(name)} is not a valid object name; it is left out`);
      return;
    }
    const key = `${group}/${resource}/${namespace}/${name}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push({ group, resource, namespace, name });
  }
}

const MATCHER_RESOURCES: Record<string, string> = {
  [Kinds.Instancetype]: Resources.instancetypes,
  [Kinds.ClusterInstancetype]: Resources.clusterInstancetypes,
  [Kinds.Preference]: Resources.preferences,
  [Kinds.ClusterPreference]: Resources.clusterPreferences,
};

function describeMatcher(matcher: MatcherRef): string {
  return `${matcher.kind ?? matcher.writtenKind} ${JSON.stringify(matcher.name ?? '')}`;
}

function addMatcher(list: ItemList, vm: KubeObject, matcher: MatcherRef, world: World): void {
  const namespace = vm.metadata.namespace ?? '';
  const owner = `VM ${qualifiedName(vm)}`;
  if (matcher.name !== undefined) {
    if (matcher.kind === undefined) {
      list.warnings.push(
        `${owner}: spec.${matcher.role}.kind ${JSON.stringify(matcher.writtenKind)} is not a kind KubeVirt knows; ` +
          `the ${matcher.role} object is not backed up`,
      );
    } else {
      const object = world.get(matcher.kind, matcher.name);
      if (object === null) {
        list.warnings.push(
          `${owner}: ${describeMatcher(matcher)} not found; the backup does not contain it` +
            (effectiveRevisionName(matcher) ? ' (the VM keeps its ControllerRevision copy)' : ''),
        );
      } else {
        const resource = MATCHER_RESOURCES[matcher.kind] ?? '';
        list.add(INSTANCETYPE_GROUP, resource, CLUSTER_KINDS.has(matcher.kind) ? '' : namespace, matcher.name, matcher.role);
      }
    }
  }
  if (matcher.staleStatusRevisionName !== undefined) {
    list.warnings.push(
      `${owner}: status names ControllerRevision ${JSON.stringify(matcher.staleStatusRevisionName)} for another ` +
        `${matcher.role} than ${describeMatcher(matcher)} (KubeVirt has not caught up with a change); it is not used`,
    );
  }
  const revisionNames = [matcher.statusRevisionName, matcher.specRevisionName].filter(
    (n): n is string => n !== undefined,
  );
  if (revisionNames.length === 0 && matcher.name !== undefined) {
    list.warnings.push(
      `${owner}: no ControllerRevision is recorded yet for ${describeMatcher(matcher)} ` +
        `(neither status.${matcher.role}Ref.controllerRevisionRef nor spec.${matcher.role}.revisionName); ` +
        `a restore will take the ${matcher.role} as it is then, not as it was`,
    );
  }
  for (const revision of new Set(revisionNames)) {
    if (world.get(Kinds.ControllerRevision, revision) === null) {
      list.warnings.push(
        `${owner}: ControllerRevision ${JSON.stringify(revision)} of ${describeMatcher(matcher)} not found; ` +
          `the backup cannot carry it and KubeVirt will not accept the restored VM until it exists`,
      );
      continue;
    }
    list.add('apps', Resources.controllerrevisions, namespace, revision, 'ControllerRevision');
  }
}

/**
 * Volumes, access credentials and backend storage: what a VMI spec needs in its namespace; and the
 * NADs of its Multus networks, in whichever namespace they are (see networks.ts).
 */
function addVmiSpecObjects(list: ItemList, vmiSpec: unknown, vmName: string, namespace: string, world: World): void {
  for (const ref of volumeRefs(vmiSpec)) {
    const why = `volume ${JSON.stringify(ref.volume)} ${ref.kind}`;
    switch (ref.kind) {
      case 'DataVolume':
        list.add(CDI_GROUP, Resources.datavolumes, namespace, ref.name, why);
        list.add('', Resources.persistentvolumeclaims, namespace, ref.name, why);
        break;
      case 'PersistentVolumeClaim':
      case 'MemoryDump':
        list.add('', Resources.persistentvolumeclaims, namespace, ref.name, why);
        break;
      case 'ConfigMap':
        list.add('', Resources.configmaps, namespace, ref.name, why);
        break;
      case 'Secret':
        list.add('', Resources.secrets, namespace, ref.name, why);
        break;
      case 'ServiceAccount':
        list.add('', Resources.serviceaccounts, namespace, ref.name, why);
        break;
    }
  }
  for (const secret of accessCredentialSecrets(vmiSpec)) {
    list.add('', Resources.secrets, namespace, secret, 'access credential secret');
  }
  if (needsBackendStorage(vmiSpec)) {
    const labelled = world.pvcs.filter((pvc) => labelsOf(pvc)[KubevirtMarkers.persistentStateFor] === vmName);
    if (labelled.length > 0) {
      for (const pvc of labelled) {
        list.add('', Resources.persistentvolumeclaims, namespace, pvc.metadata.name ?? '', 'backend-storage PVC');
      }
    } else {
      // KubeVirt < 1.4 did not label the PVC; it had a fixed name.
      list.add('', Resources.persistentvolumeclaims, namespace, `${KubevirtMarkers.persistentStatePrefix}${vmName}`, 'backend-storage PVC');
    }
  }
  const networks = multusNetworks(vmiSpec, namespace);
  for (const ref of networks.refs) {
    list.add(MULTUS_GROUP, Resources.networkAttachmentDefinitions, ref.namespace, ref.name, `network ${JSON.stringify(ref.network)} NetworkAttachmentDefinition`);
  }
  for (const bad of networks.invalid) {
    list.warnings.push(
      `${list.owner}: network ${JSON.stringify(bad.network)} has Multus networkName ${JSON.stringify(bad.written)}, which names no ` +
        `NetworkAttachmentDefinition validly ("name" or "namespace/name"); it is not backed up`,
    );
  }
}

export function vmBackupGraph(vm: KubeObject, world: World): GraphResult {
  const namespace = vm.metadata.namespace ?? '';
  const name = vm.metadata.name ?? '';
  const list = new ItemList(`VM ${qualifiedName(vm)}`);
  for (const matcher of matchersOf(vm)) addMatcher(list, vm, matcher, world);
  if (vmHasVmi(vm)) {
    list.add(KUBEVIRT_GROUP, Resources.virtualmachineinstances, namespace, name, 'VMI');
    const pod = launcherPodOf(name, world.launcherPods);
    if (pod?.metadata.name !== undefined) list.add('', Resources.pods, namespace, pod.metadata.name, 'launcher pod');
  }
  addVmiSpecObjects(list, vmTemplateSpec(vm), name, namespace, world);
  return { items: list.items, warnings: list.warnings };
}

export function vmiBackupGraph(vmi: KubeObject, world: World): GraphResult {
  const namespace = vmi.metadata.namespace ?? '';
  const name = vmi.metadata.name ?? '';
  const list = new ItemList(`VMI ${qualifiedName(vmi)}`);
  const pod = launcherPodOf(name, world.launcherPods);
  if (pod?.metadata.name !== undefined) list.add('', Resources.pods, namespace, pod.metadata.name, 'launcher pod');
  addVmiSpecObjects(list, vmi['spec'], name, namespace, world);
  return { items: list.items, warnings: list.warnings };
}
