// v2 operation IDs that can be read back: Velero stores them, shows them to users, and may hand them to
// a different plugin process (after a restart) for Progress/Cancel, so an ID must carry what the
// operation is about instead of pointing into process memory.
// Form: <operation>:<namespace>/<name>:<started unix ms>[:<object>,<object>...]. Kubernetes names and
// namespaces cannot contain ':', '/' or ',', and the operation is restricted to the same alphabet. The
// optional objects are what the operation works on when the named object may no longer say so (a VM
// that KubeVirt expanded no longer names its revisions).

export interface OperationRef {
  /** What the operation does, e.g. "own-revisions". */
  operation: string;
  namespace: string;
  name: string;
  started: Date;
  /** Names of further objects in the same namespace the operation works on. */
  objects?: string[];
}

const OPERATION = /^[a-z0-9][a-z0-9.-]*$/;
const ID = /^([a-z0-9][a-z0-9.-]*):([^:/]*)\/([^:/]+):(\d+)(?::([^:/]+))?$/;

export function encodeOperationId(ref: OperationRef): string {
  if (!OPERATION.test(ref.operation)) throw new Error(`invalid operation "${ref.operation}"`);
  if (/[:/]/.test(ref.namespace) || /[:/]/.test(ref.name) || !ref.name) {
    throw new Error(`invalid object ${ref.namespace}/${ref.name} for an operation ID`);
  }
  const objects = ref.objects ?? [];
  if (objects.some((o) => !o || /[:/,]/.test(o))) throw new Error(`invalid object names ${objects.join(', ')} for an operation ID`);
  const tail = objects.length > 0 ? `:${objects.join(',')}` : '';
  return `${ref.operation}:${ref.namespace}/${ref.name}:${ref.started.getTime()}${tail}`;
}

/** undefined when the ID is not one of ours. */
export function decodeOperationId(id: string): OperationRef | undefined {
  const match = ID.exec(id);
  if (!match) return undefined;
  return {
    operation: match[1] ?? '',
    namespace: match[2] ?? '',
    name: match[3] ?? '',
    started: new Date(Number(match[4])),
    ...(match[5] !== undefined ? { objects: match[5].split(',') } : {}),
  };
}
