// A conflict, as KubeVirt reports it: the field path (k8s field.Path text) and the message.
export interface Conflict {
  path: string;
  message: string;
}

/** KubeVirt's text for a VM field that the instance type also sets. */
export function instancetypeConflict(path: string): Conflict {
  return { path, message: `VM field(s) ${path} conflicts with selected instance type` };
}
