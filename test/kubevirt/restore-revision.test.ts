// Which outcome each referenced revision gets, and the revisions the plugin builds itself.
import { describe, expect, it } from 'vitest';
import {
  decideAfterAdditionalItems,
  decideAtExecute,
  definitionFor,
  jsonEqual,
  revisionFromCopy,
  revisionFromObject,
  withSortedKeys,
  sameDefinition,
  veleroLabelValue,
  type RevisionFacts,
} from '../../src/kubevirt/restore-revision.ts';
import { decodeRevisionCopies, encodeRevisionCopies, revisionLabelsOf, type RevisionCopy } from '../../src/kubevirt/revision-copy.ts';
import type { JsonValue, KubeObject } from '../../src/velero/types.ts';
import { clusterInstancetype, kubevirtRevision } from '../actions/restore-test-kit.ts';

const REV = 'vm-u1.medium-v1beta1-it-uid-u1.medium-1';
const original = clusterInstancetype('u1.medium', 1, '4Gi', 1);
const changed = clusterInstancetype('u1.medium', 8, '32Gi', 2);
const originalRevision = kubevirtRevision(REV, 'src', original);

/** The copy as the backup action embeds it and the restore decodes it (through the real codec). */
function copyOf(revision: KubeObject): RevisionCopy {
  const encoded = encodeRevisionCopies([
    { role: 'instancetype', name: revision.metadata.name ?? '', labels: revisionLabelsOf(revision), data: revision['data'] as JsonValue },
  ]);
  return decodeRevisionCopies(encoded)[0] as RevisionCopy;
}

const matcher = {
  role: 'instancetype' as const,
  name: 'u1.medium',
  kind: 'VirtualMachineClusterInstancetype',
  clusterScoped: true,
  revisionName: REV,
  revisionFrom: 'spec' as const,
};

function restoredBy(restore: string, revision: KubeObject): KubeObject {
  const r = structuredClone(revision);
  r.metadata.labels = { ...r.metadata.labels, 'velero.io/restore-name': restore, 'velero.io/backup-name': 'b' };
  return r;
}

describe('at Execute: what is in the target namespace already', () => {
  const cases: { title: string; facts: Omit<RevisionFacts, 'matcher'>; expected: object }[] = [
    { title: 'restored earlier in this restore (Velero labels it) -> restored', facts: { inCluster: restoredBy('r1', originalRevision), copy: copyOf(originalRevision) }, expected: { outcome: 'restored' } },
    { title: 'left by another restore -> already there', facts: { inCluster: restoredBy('older', originalRevision) }, expected: { outcome: 'already-there', differs: false } },
    { title: 'pre-existing, same definition as the copy -> already there', facts: { inCluster: originalRevision, copy: copyOf(originalRevision) }, expected: { outcome: 'already-there', differs: false } },
    {
      title: 'pre-existing, different definition -> already there, differs (a warning)',
      facts: { inCluster: kubevirtRevision(REV, 'dst', changed), copy: copyOf(originalRevision) },
      expected: { outcome: 'already-there', differs: true },
    },
    { title: 'not there -> pending: ask Velero for it from the backup', facts: { copy: copyOf(originalRevision), objectInCluster: changed }, expected: { outcome: 'pending' } },
  ];
  it.each(cases)('$title', ({ facts, expected }) => {
    expect(decideAtExecute({ matcher, ...facts }, 'r1')).toEqual(expected);
  });
});

describe('after the additional items: restored, re-created or refused', () => {
  type Case = { title: string; facts: Omit<RevisionFacts, 'matcher'>; policy: 'recreate' | 'fail'; expected: string; message?: RegExp };
  const cases: Case[] = [
    { title: 'the backup held it: restored', facts: { inCluster: restoredBy('r1', originalRevision) }, policy: 'fail', expected: 'restored' },
    { title: 'neither backup nor cluster, copy embedded: re-created from the copy', facts: { copy: copyOf(originalRevision), objectInCluster: changed }, policy: 'recreate', expected: 'recreate-from-copy' },
    { title: 'no copy, object exists: re-created from the current object', facts: { objectInCluster: changed }, policy: 'recreate', expected: 'recreate-from-object' },
    {
      title: 'nothing at all: refused, naming VM, revision and object',
      facts: {},
      policy: 'recreate',
      expected: 'refused',
      message: new RegExp(
        `VirtualMachine dst/vm cannot be restored: its instancetype revision ${REV.replace(/\./g, '\\.')} \\(VirtualMachineClusterInstancetype u1\\.medium\\) ` +
          'is neither in the backup nor in namespace dst; the backup holds no point-in-time copy of it, and VirtualMachineClusterInstancetype u1\\.medium is neither in the backup nor in the cluster',
      ),
    },
    { title: 'policy fail: refused even with a copy', facts: { copy: copyOf(originalRevision) }, policy: 'fail', expected: 'refused', message: /missing-revision policy is "fail"/ },
  ];
  it.each(cases)('$title', ({ facts, policy, expected, message }) => {
    const decision = decideAfterAdditionalItems({ matcher, ...facts }, policy, 'r1', 'dst/vm', 'dst');
    expect(decision.outcome).toBe(expected);
    if (message && decision.outcome === 'refused') expect(decision.message).toMatch(message);
  });
});

describe('building revisions', () => {
  it("writes data with sorted keys, the form the API server re-encodes it in on a patch (data is immutable)", () => {
    // As KubeVirt's virt-controller writes it: Go struct-field order, not sorted.
    const structOrder = { apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterInstancetype', metadata: { name: 'it', uid: 'u', generation: 1 }, spec: { memory: { guest: '1Gi' }, cpu: { guest: 1 } } };
    const copy = { role: 'instancetype' as const, name: 'vm-it-v1beta1-u-1', labels: {}, data: structOrder };
    const keysInOrder = (v: unknown): string => JSON.stringify(v);
    expect(keysInOrder(revisionFromCopy(copy, 'dst')['data'])).toBe(
      '{"apiVersion":"instancetype.kubevirt.io/v1beta1","kind":"VirtualMachineClusterInstancetype","metadata":{"generation":1,"name":"it","uid":"u"},"spec":{"cpu":{"guest":1},"memory":{"guest":"1Gi"}}}',
    );
    expect(withSortedKeys([{ b: 1, a: [{ d: 1, c: 2 }] }])).toEqual([{ a: [{ c: 2, d: 1 }], b: 1 }]);
    expect(JSON.stringify(withSortedKeys({ b: 1, a: [{ d: 1, c: 2 }] }))).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it('from the copy: the original name, KubeVirt labels and payload, in the TARGET namespace', () => {
    const rebuilt = revisionFromCopy(copyOf(originalRevision), 'dst');
    const expected = structuredClone(originalRevision);
    expected.metadata.namespace = 'dst';
    expect(rebuilt).toEqual(expected);
  });

  it('from the object: KubeVirt payload (no labels/annotations/managedFields), current uid and generation in the labels', () => {
    const rebuilt = revisionFromObject(REV, changed, 'dst');
    expect(rebuilt.metadata).toEqual({
      name: REV,
      namespace: 'dst',
      labels: {
        'instancetype.kubevirt.io/object-generation': '2',
        'instancetype.kubevirt.io/object-kind': 'VirtualMachineClusterInstancetype',
        'instancetype.kubevirt.io/object-name': 'u1.medium',
        'instancetype.kubevirt.io/object-uid': 'it-uid-u1.medium',
        'instancetype.kubevirt.io/object-version': 'v1beta1',
      },
    });
    expect(rebuilt['data']).toEqual(kubevirtRevision(REV, 'dst', changed)['data']);
    expect(rebuilt['revision']).toBe(0);
  });
});

describe('comparing definitions', () => {
  it.each([
    ['metadata differs, spec equal', { spec: { memory: { guest: '4Gi' } } }, { metadata: { uid: 'other' }, spec: { memory: { guest: '4Gi' } } }, true],
    ['spec differs', { spec: { cpu: { guest: 1 } } }, { spec: { cpu: { guest: 2 } } }, false],
    ['equal int64 beyond 2^53', { spec: { x: 9007199254740993n } }, { spec: { x: 9007199254740993n } }, true],
    ['number vs bigint of the same value', { spec: { x: 1 } }, { spec: { x: 1n } }, true],
    ['one has no spec', { spec: {} }, { nospec: true }, false],
  ] as [string, JsonValue, JsonValue, boolean][])('%s', (_title, a, b, equal) => {
    expect(sameDefinition(a, b)).toBe(equal);
  });

  it('jsonEqual looks at keys and order of arrays', () => {
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
  });
});

describe('expansion takes the most faithful definition available', () => {
  it.each([
    [{ inCluster: originalRevision, copy: copyOf(originalRevision), objectInCluster: changed }, 'revision'],
    [{ copy: copyOf(originalRevision), objectInCluster: changed }, 'copy'],
    [{ objectInCluster: changed }, 'object'],
  ] as [Omit<RevisionFacts, 'matcher'>, string][])('%#: from the %s', (facts, source) => {
    expect(definitionFor(facts)?.source).toBe(source);
  });
  it('none available', () => expect(definitionFor({})).toBeUndefined());
});

describe("Velero's restore-name label value", () => {
  it('keeps short names and shortens long ones like label.GetValidName', () => {
    expect(veleroLabelValue('r1')).toBe('r1');
    const long = 'a'.repeat(70);
    expect(veleroLabelValue(long)).toHaveLength(63);
    expect(veleroLabelValue(long).startsWith('a'.repeat(57))).toBe(true);
  });
});
