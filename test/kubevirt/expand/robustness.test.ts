// Bad input never crashes expansion: random valid cases with values swapped for wrong types
// (strings for objects, numbers for lists, ...) always give a result, ok or conflicts, never an
// exception — the plugin process must survive any VM a cluster or a backup hands it.
import { describe, expect, it } from 'vitest';
import { expandVirtualMachine, KUBEVIRT_DEFAULTS } from '../../../src/kubevirt/expand/index.ts';
import type { KubeObject } from '../../../src/velero/types.ts';
import { randomCorpus, rng } from '../../oracle/corpus.ts';

const WRONG: unknown[] = ['text', 42, -1, true, [], [1, 'x'], {}, { a: 1 }, null, 1.5, '1Gi', 2n ** 70n];

function corrupt(value: unknown, r: () => number, p: number): unknown {
  if (r() < p) return WRONG[Math.floor(r() * WRONG.length)];
  if (Array.isArray(value)) return value.map((v) => corrupt(v, r, p));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = corrupt(v, r, p);
    return out;
  }
  return value;
}

describe('expansion never throws', () => {
  it('on 5,000 corrupted random cases, with and without cluster defaults', () => {
    const r = rng(777);
    let ok = 0;
    let conflicts = 0;
    for (const c of randomCorpus(777, 5000)) {
      const vm = c.vm as KubeObject;
      const spec = vm['spec'] as Record<string, unknown>;
      spec['template'] = corrupt(spec['template'], r, 0.03);
      const it1 = corrupt(c.instancetype, r, 0.03) as Record<string, unknown> | undefined;
      const pref = corrupt(c.preference, r, 0.03) as Record<string, unknown> | undefined;
      for (const options of [{}, { clusterDefaults: KUBEVIRT_DEFAULTS }]) {
        const result = expandVirtualMachine(vm, it1, pref, options);
        if (result.ok) ok++;
        else {
          conflicts++;
          for (const x of result.conflicts) {
            expect(typeof x.path).toBe('string');
            expect(x.message.length).toBeGreaterThan(0);
          }
        }
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(conflicts).toBeGreaterThan(0);
  }, 60_000);
});
