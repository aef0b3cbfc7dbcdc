// Builds VMs for the expansion tables: only the parts a row is about are written out.
import { type ExpandOptions, expandVirtualMachine, type ExpandResult } from '../../../src/kubevirt/expand/index.ts';
import type { KubeObject } from '../../../src/velero/types.ts';

type O = Record<string, unknown>;

export function vmWith(templateSpec: O, opts: { it?: boolean; pref?: boolean; templateMeta?: O; spec?: O } = {}): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'vm', namespace: 'ns' },
    spec: {
      ...(opts.it !== false ? { instancetype: { name: 'u1.medium' } } : {}),
      ...(opts.pref !== false ? { preference: { name: 'fedora' } } : {}),
      template: { ...(opts.templateMeta ? { metadata: opts.templateMeta } : {}), spec: templateSpec },
      ...opts.spec,
    },
  };
}

/** Expands and returns the template spec, or throws with the conflicts (for rows expecting success). */
export function templateAfter(templateSpec: O, it?: O, pref?: O, options?: ExpandOptions): O {
  const r = expandVirtualMachine(vmWith(templateSpec, { it: it !== undefined, pref: pref !== undefined }), it, pref, options);
  if (!r.ok) throw new Error(`unexpected conflicts: ${JSON.stringify(r.conflicts)}`);
  return (r.vm['spec'] as { template: { spec: O } }).template.spec;
}

export function domainAfter(templateSpec: O, it?: O, pref?: O): O {
  return templateAfter(templateSpec, it, pref)['domain'] as O;
}

export function conflictsOf(r: ExpandResult): string[] {
  return r.ok ? [] : r.conflicts.map((c) => c.path);
}

/** A minimal valid instance type with extra fields. */
export function itWith(extra: O = {}, cpu: O = {}, memory: O = {}): O {
  return { cpu: { guest: 2, ...cpu }, memory: { guest: '4Gi', ...memory }, ...extra };
}
