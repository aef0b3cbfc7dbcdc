// The single door to the Kubernetes API. Actions receive a KubeApi at construction; src/kube/ holds
// the implementation on @kubernetes/client-node (timeouts, caching per backup/restore, counting).
import type { JsonObject, KubeObject } from '../velero/types.ts';

export interface ObjectKey {
  apiVersion: string;
  kind: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
  name: string;
}

export interface TypeKey {
  apiVersion: string;
  kind: string;
  /** Absent for cluster-scoped kinds (or to list across all namespaces). */
  namespace?: string;
}

export interface PatchOptions {
  /**
   * Ask for the patched object's metadata only (PartialObjectMetadata), for a caller that needs only
   * to know the patch took: the API server does not encode the rest and the plugin does not parse it.
   */
  answerMetadataOnly?: boolean;
}

export interface KubeApi {
  /** undefined when the object does not exist (404); other failures throw an error naming the object. */
  get(key: ObjectKey): Promise<KubeObject | undefined>;
  list(type: TypeKey, options?: { labelSelector?: string }): Promise<KubeObject[]>;
  create(object: KubeObject): Promise<KubeObject>;
  /**
   * Kubernetes strategic merge patch (built-in kinds only): a list with a merge key, such as
   * metadata.ownerReferences (key: uid), is merged entry by entry instead of being replaced.
   */
  strategicMergePatch(key: ObjectKey, patch: JsonObject, options?: PatchOptions): Promise<KubeObject>;
  /**
   * Optional: a view whose look-ups are cached for one backup or restore (scopeId: its UID). Objects
   * it returns are shared and frozen: copy before changing them.
   */
  scoped?(scopeId: string): KubeApi;
}

/**
 * Metadata-only reads (Kubernetes' PartialObjectMetadata): the API server answers with the object's
 * metadata and nothing else, so a look-up that needs only existence, names or labels never receives a
 * Secret's data or a ConfigMap's contents. Results have kind PartialObjectMetadata (apiVersion
 * meta.k8s.io/v1) and only `metadata`.
 */
export interface KubeMetadataApi {
  /** undefined when the object does not exist (404). */
  getMetadata(key: ObjectKey): Promise<KubeObject | undefined>;
  listMetadata(type: TypeKey, options?: { labelSelector?: string }): Promise<KubeObject[]>;
}

/** The view of `kube` for one backup/restore: cached when the implementation supports it. */
export function kubeForScope(kube: KubeApi, scopeId: string | undefined): KubeApi {
  return scopeId && kube.scoped ? kube.scoped(scopeId) : kube;
}
