// One error type for everything that goes wrong talking to the Kubernetes API. The message always
// names the request and the object, because it ends up verbatim in `velero backup logs` or in the
// backup's error list.

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  /** The HTTP status, when the API server answered. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

export function isKubeApiError(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError;
}

/** Names Kubernetes accepts for namespaced and cluster-scoped objects (DNS-1123 subdomain). */
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** Namespaces are DNS-1123 labels. */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Names taken from objects (a VM's volume claim, a revision name in its status...) go into API paths:
 * refuse anything that is not a valid Kubernetes name rather than build a path from it.
 */
export function checkObjectName(name: string, what: string): void {
  if (name.length === 0 || name.length > 253 || !SUBDOMAIN.test(name)) {
    throw new KubeApiError(`invalid ${what} name ${JSON.stringify(name)}: not a DNS-1123 subdomain`);
  }
}

export function checkNamespaceName(namespace: string): void {
  if (namespace.length === 0 || namespace.length > 63 || !LABEL.test(namespace)) {
    throw new KubeApiError(`invalid namespace name ${JSON.stringify(namespace)}: not a DNS-1123 label`);
  }
}

export function isValidObjectName(name: string): boolean {
  return name.length > 0 && name.length <= 253 && SUBDOMAIN.test(name);
}
