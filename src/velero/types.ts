// Velero's view of the world, as plugins receive it: unstructured Kubernetes objects (JSON) and the
// Backup / Restore custom resources. Only the fields the plugin reads are typed; everything else is
// carried through untouched.

/** A JSON value as parsed losslessly: integers beyond 2^53 are bigint (see src/shared/json.ts). */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generateName?: string;
  resourceVersion?: string;
  generation?: number | bigint;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object as Velero hands it over. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Velero's generated.ResourceIdentifier: what an action asks Velero to back up / restore as well. */
export interface ResourceIdentifier {
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

/** Velero's generated.ResourceSelector, answered by AppliesTo. Empty lists mean "everything". */
export interface ResourceSelector {
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  /** A Kubernetes label selector string. */
  selector?: string;
}

/** The velero.io/v1 Backup fields the plugin reads. */
export interface Backup extends KubeObject {
  spec?: {
    includedNamespaces?: string[];
    excludedNamespaces?: string[];
    includedResources?: string[];
    excludedResources?: string[];
    includeClusterResources?: boolean | null;
    includedClusterScopedResources?: string[];
    excludedClusterScopedResources?: string[];
    includedNamespaceScopedResources?: string[];
    excludedNamespaceScopedResources?: string[];
    labelSelector?: JsonObject;
    [key: string]: unknown;
  };
  status?: { phase?: string; [key: string]: unknown };
}

/** The velero.io/v1 Restore fields the plugin reads. */
export interface Restore extends KubeObject {
  spec?: {
    backupName?: string;
    includedNamespaces?: string[];
    excludedNamespaces?: string[];
    includedResources?: string[];
    excludedResources?: string[];
    includeClusterResources?: boolean | null;
    namespaceMapping?: Record<string, string>;
    restoreStatus?: { includedResources?: string[]; excludedResources?: string[] };
    [key: string]: unknown;
  };
  status?: { phase?: string; [key: string]: unknown };
}

/** generated.OperationProgress, as a v2 action reports it. */
export interface OperationProgress {
  completed: boolean;
  /** Non-empty marks the operation failed. */
  err: string;
  nCompleted: number;
  nTotal: number;
  operationUnits: string;
  description: string;
  started?: Date;
  updated?: Date;
}
