// The restore action's view of VM expansion: the shape of src/kubevirt/expand/'s expandVirtualMachine,
// which the action uses by default. A test may hand another function to watch what the action passes.
import type { JsonValue, KubeObject } from '../velero/types.ts';

export interface ExpandConflict {
  path: string;
  message: string;
}

export type ExpandResult = { ok: true; vm: KubeObject } | { ok: false; conflicts: ExpandConflict[] };

/**
 * Inlines the instance type and preference into the VM, as KubeVirt does, and removes the references.
 * Each definition is a revision's `data` or the object itself. May throw on a malformed definition.
 */
export type ExpandFn = (
  vm: KubeObject,
  instancetype?: Record<string, unknown>,
  preference?: Record<string, unknown>,
) => ExpandResult;

/** Whether a definition can be handed to an ExpandFn. */
export function isDefinition(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
