// The comparison behind the differential test: runs our expansion and KubeVirt's (through the Go
// oracle) on the same cases and describes every difference. Our output VM is passed through KubeVirt's
// Go types before comparing (canonical quantities, empty fields dropped), which is how the API server
// would store it; conflicts are compared as sets because KubeVirt reports annotation conflicts in Go
// map order, which is random.
import { expandVirtualMachine, type ExpandOptions, KUBEVIRT_DEFAULTS, type KubevirtRelease } from '../../src/kubevirt/expand/index.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import type { Case } from './corpus.ts';
import { expandWithOracle, normalizeWithOracle, type OracleAnswer, type OracleConflict } from './oracle-client.ts';

/** apply: KubeVirt's Expand without the cluster defaults pass; expand: Expand with KubeVirt's default configuration. */
export type Mode = 'apply' | 'expand';

export interface Verdict {
  id: string;
  /** What KubeVirt did: "expanded", "conflict" or "error". */
  kubevirt: 'expanded' | 'conflict' | 'error';
  /** Undefined when both agree. */
  difference?: string;
}

/** KubeVirt failures we know the cause of, and the path we report them at. */
const KNOWN_FAILURES: [string, string][] = [
  // preferredCPUFeatures on a VM with neither domain.cpu nor an instance type.
  ['nil pointer dereference', 'spec.template.spec.domain.cpu'],
  // A spread ratio of 0.
  ['integer divide by zero', 'instancetype.spec.cpu.guest'],
];

type Expected = { kind: 'vm'; vm: unknown } | { kind: 'conflicts'; conflicts: OracleConflict[] } | { kind: 'error'; error: string };

function expectedFrom(answer: OracleAnswer, mode: Mode): Expected {
  const admit = answer.admit;
  if (!admit.ok) {
    if (admit.conflicts && admit.conflicts.length > 0) {
      // Requirement failures carry the error text; conflicts (spread, instance type) carry their own.
      if (admit.error) return { kind: 'conflicts', conflicts: [{ path: admit.conflicts.map((c) => c.path).join(', '), message: admit.error }] };
      return { kind: 'conflicts', conflicts: admit.conflicts };
    }
    return { kind: 'error', error: admit.error ?? 'unknown' };
  }
  const r = mode === 'apply' ? answer.apply : answer.expand;
  if (r.ok) return { kind: 'vm', vm: r.vm };
  if (r.conflicts && r.conflicts.length > 0) return { kind: 'conflicts', conflicts: r.conflicts };
  return { kind: 'error', error: r.error ?? 'unknown' };
}

function sortConflicts(cs: OracleConflict[]): string {
  return JSON.stringify([...cs].sort((a, b) => (a.path + a.message < b.path + b.message ? -1 : 1)));
}

/** The first few paths where two JSON values differ, with both sides. */
export function jsonDiff(expected: unknown, actual: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 12) return out;
  if (JSON.stringify(expected) === JSON.stringify(actual)) return out;
  const bothObj = typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null;
  if (bothObj && Array.isArray(expected) === Array.isArray(actual)) {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) jsonDiff(e[k], a[k], `${path}.${k}`, out);
    return out;
  }
  out.push(`${path || '.'}: KubeVirt ${JSON.stringify(expected)} / ours ${JSON.stringify(actual)}`);
  return out;
}

/** EXPAND_KUBEVIRT_RELEASE=1.8 compares with an oracle built for v1.8.x (KUBEVIRT_VERSION=v1.8.4). */
const release = (process.env['EXPAND_KUBEVIRT_RELEASE'] ?? '1.9') as KubevirtRelease;

export function optionsFor(mode: Mode): ExpandOptions {
  // The VM mutating webhook's storage class step is not part of KubeVirt's Expand; compare without it.
  // (It cannot be run here: pkg/instancetype/webhooks/vm imports kubevirt.io/virt-template-client-go
  // v0.2.0, which the Go module proxy refuses; it is covered by the unit tables.)
  const base: ExpandOptions = { dataVolumeTemplateStorageClass: false, kubevirtRelease: release };
  return mode === 'apply' ? base : { ...base, clusterDefaults: KUBEVIRT_DEFAULTS };
}

/** Runs both implementations on `cases` and returns one verdict per case. */
export async function judge(bin: string, cases: Case[], mode: Mode): Promise<Verdict[]> {
  const answers = await expandWithOracle(bin, cases);
  const ours = cases.map((c) => expandVirtualMachine(c.vm as KubeObject, c.instancetype, c.preference, optionsFor(mode)));
  const okIndexes = ours.flatMap((r, i) => (r.ok ? [i] : []));
  const normalized = await normalizeWithOracle(
    bin,
    okIndexes.map((i) => {
      const r = ours[i];
      return r?.ok ? r.vm : null;
    }),
  );
  const normalizedByIndex = new Map(okIndexes.map((idx, j) => [idx, normalized[j]]));

  return cases.map((c, i) => {
    const answer = answers[i] as OracleAnswer;
    const mine = ours[i];
    const exp = expectedFrom(answer, mode);
    const kubevirt = exp.kind === 'vm' ? 'expanded' : exp.kind === 'conflicts' ? 'conflict' : 'error';
    const v: Verdict = { id: c.id, kubevirt };
    if (!mine) return { ...v, difference: 'no result' };
    if (exp.kind === 'error') {
      // KubeVirt fails outright inside its code: we must refuse too, naming the known causes.
      if (mine.ok) v.difference = `KubeVirt fails (${exp.error}) but we expanded`;
      else {
        const wanted = KNOWN_FAILURES.find(([text]) => exp.error.includes(text))?.[1];
        if (wanted !== undefined && mine.conflicts[0]?.path !== wanted) {
          v.difference = `KubeVirt fails (${exp.error}); we report ${JSON.stringify(mine.conflicts)} instead of a conflict at ${wanted}`;
        }
      }
      return v;
    }
    if (exp.kind === 'conflicts') {
      if (mine.ok) v.difference = `KubeVirt reports ${JSON.stringify(exp.conflicts)} but we expanded`;
      else if (sortConflicts(mine.conflicts) !== sortConflicts(exp.conflicts)) {
        v.difference = `conflicts differ: KubeVirt ${JSON.stringify(exp.conflicts)} / ours ${JSON.stringify(mine.conflicts)}`;
      }
      return v;
    }
    if (!mine.ok) {
      v.difference = `KubeVirt expands but we report ${JSON.stringify(mine.conflicts)}`;
      return v;
    }
    const got = normalizedByIndex.get(i);
    if (JSON.stringify(got) !== JSON.stringify(exp.vm)) v.difference = `expanded VMs differ:\n  ${jsonDiff(exp.vm, got).join('\n  ')}`;
    return v;
  });
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every way to make `value` one step smaller: drop one key or one list element, anywhere. */
function* smaller(value: Json): Generator<Json> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield [...value.slice(0, i), ...value.slice(i + 1)];
    for (let i = 0; i < value.length; i++) for (const s of smaller(value[i] as Json)) yield value.map((x, j) => (j === i ? s : x));
  } else if (value !== null && typeof value === 'object') {
    for (const k of Object.keys(value)) {
      const { [k]: _dropped, ...rest } = value;
      yield rest;
    }
    for (const k of Object.keys(value)) for (const s of smaller(value[k] as Json)) yield { ...value, [k]: s };
  }
}

function candidates(c: Case): Case[] {
  const out: Case[] = [];
  const parts: (keyof Case)[] = ['instancetype', 'preference', 'vm'];
  for (const part of parts) {
    const v = c[part];
    if (v === undefined || typeof v === 'string') continue;
    for (const s of smaller(v as Json)) {
      // Keep the VM's matchers and template, or the case stops being about expansion.
      if (part === 'vm') {
        const spec = (s as { spec?: Record<string, unknown> }).spec;
        if (!spec?.['template'] || (c.instancetype && !spec['instancetype']) || (c.preference && !spec['preference'])) continue;
      }
      out.push({ ...c, [part]: s, id: `${c.id}~` });
    }
  }
  return out;
}

/** Greedy delta debugging: the smallest input (one deletion at a time) that still shows a difference. */
export async function shrink(bin: string, c: Case, mode: Mode, maxRounds = 200): Promise<{ c: Case; verdict: Verdict }> {
  let current = c;
  let [verdict] = await judge(bin, [c], mode);
  for (let round = 0; round < maxRounds; round++) {
    const cands = candidates(current);
    if (cands.length === 0) break;
    const verdicts = await judge(bin, cands, mode);
    const idx = verdicts.findIndex((v) => v.difference !== undefined);
    if (idx < 0) break;
    current = cands[idx] as Case;
    verdict = verdicts[idx];
  }
  return { c: { ...current, id: c.id }, verdict: verdict as Verdict };
}
