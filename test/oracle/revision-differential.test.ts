// Our reading of instance type / preference ControllerRevisions against KubeVirt's own decoder
// (pkg/instancetype/compatibility of KubeVirt v1.6.0, the last release that reads v1alpha1/v1alpha2
// payloads; v1.7+ dropped those API versions). Old payloads are made with KubeVirt's own generated
// conversions from the corpus specs, so each is one an older KubeVirt could have written.
import { beforeAll, describe, expect, it } from 'vitest';
import { extractSpec, type SpecKind } from '../../src/kubevirt/expand/spec-source.ts';
import { handWrittenCorpus, INSTANCETYPES, PREFERENCES, randomCorpus } from './corpus.ts';
import { jsonDiff } from './differential.ts';
import { oracleBinary, runOracle } from './oracle-client.ts';

const group = 'instancetype.kubevirt.io';
let bin = '';
beforeAll(async () => {
  bin = await oracleBinary('revisions');
}, 30 * 60_000);

interface Answer {
  id: string;
  spec?: unknown;
  error?: string;
}

const KINDS: Record<SpecKind, [string, string]> = {
  instancetype: ['VirtualMachineInstancetype', 'VirtualMachineClusterInstancetype'],
  preference: ['VirtualMachinePreference', 'VirtualMachineClusterPreference'],
};

function revision(data: unknown): Record<string, unknown> {
  return { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'vm-x-1', namespace: 'ns' }, revision: 0, data };
}

function specs(): { kind: SpecKind; spec: Record<string, unknown> }[] {
  const out: { kind: SpecKind; spec: Record<string, unknown> }[] = [];
  for (const s of Object.values(INSTANCETYPES)) out.push({ kind: 'instancetype', spec: s });
  for (const s of Object.values(PREFERENCES)) out.push({ kind: 'preference', spec: s });
  for (const c of randomCorpus(4242, 1500)) {
    if (c.instancetype) out.push({ kind: 'instancetype', spec: c.instancetype });
    if (c.preference) out.push({ kind: 'preference', spec: c.preference });
  }
  return out;
}

describe('revision payloads are read as KubeVirt reads them', () => {
  it('v1beta1, v1alpha2 and v1alpha1 objects and v1alpha1 spec revisions', async () => {
    expect(handWrittenCorpus().length).toBeGreaterThan(0);
    const all = specs();
    // 1. Old-version specs, converted by KubeVirt itself.
    const down = await runOracle<Answer>(
      bin,
      all.flatMap((s, i) => (['v1alpha1', 'v1alpha2'] as const).map((v) => ({ id: `${i}/${v}`, kind: s.kind, downgrade: v, spec: s.spec }))),
    );
    const old = new Map(down.map((a) => [a.id, a]));
    // 2. Every payload shape for every spec.
    const payloads: { id: string; kind: SpecKind; revision: Record<string, unknown> }[] = [];
    all.forEach((s, i) => {
      const [nsKind, clusterKind] = KINDS[s.kind];
      payloads.push({ id: `${i}/v1beta1`, kind: s.kind, revision: revision({ apiVersion: `${group}/v1beta1`, kind: clusterKind, metadata: { name: 'x' }, spec: s.spec }) });
      for (const v of ['v1alpha1', 'v1alpha2']) {
        const o = old.get(`${i}/${v}`);
        if (!o || o.error) throw new Error(`KubeVirt could not convert spec ${i} to ${v}: ${o?.error ?? 'no answer'}`);
        payloads.push({ id: `${i}/${v}`, kind: s.kind, revision: revision({ apiVersion: `${group}/${v}`, kind: i % 2 ? nsKind : clusterKind, metadata: { name: 'x' }, spec: o.spec }) });
        if (v === 'v1alpha1') {
          const b64 = Buffer.from(JSON.stringify(o.spec)).toString('base64');
          payloads.push({ id: `${i}/specrevision`, kind: s.kind, revision: revision({ apiVersion: `${group}/v1alpha1`, spec: b64 }) });
        }
      }
    });
    const theirs = await runOracle<Answer>(bin, payloads.map((p) => ({ id: p.id, kind: p.kind, revision: p.revision })));
    // 3. Ours, put through KubeVirt's v1beta1 types so both sides are encoded the same way.
    const ours = payloads.map((p) => extractSpec(p.revision, p.kind));
    const oursNormalized = await runOracle<Answer>(
      bin,
      payloads.map((p, i) => ({ id: p.id, kind: p.kind, revision: revision({ apiVersion: `${group}/v1beta1`, kind: KINDS[p.kind][1], spec: ours[i] }) })),
    );
    const diffs: string[] = [];
    payloads.forEach((p, i) => {
      const t = theirs[i];
      const o = oursNormalized[i];
      if (t?.error) diffs.push(`${p.id} (${p.kind}): KubeVirt cannot read it: ${t.error}`);
      else if (JSON.stringify(t?.spec) !== JSON.stringify(o?.spec)) diffs.push(`${p.id} (${p.kind}):\n  ${jsonDiff(t?.spec, o?.spec).join('\n  ')}\n  payload ${JSON.stringify(p.revision)}`);
    });
    process.stdout.write(`revision payloads compared: ${payloads.length}, differences: ${diffs.length}\n`);
    expect(diffs.slice(0, 5), `${diffs.length} of ${payloads.length} payloads differ`).toEqual([]);
  }, 300_000);
});
