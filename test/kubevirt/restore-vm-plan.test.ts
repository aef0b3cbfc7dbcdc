// The restore action's decisions as data (src/kubevirt/restore-vm-plan.ts), table by table.
import { describe, expect, it } from 'vitest';
import { DEFAULT_REVISION_OPTIONS } from '../../src/config.ts';
import { copiesNeeded, lateStep, ownerProgress, planExecute, withCopies, type MatcherFacts } from '../../src/kubevirt/restore-vm-plan.ts';
import type { LateDecision, RevisionFacts } from '../../src/kubevirt/restore-revision.ts';
import type { MatcherRef } from '../../src/kubevirt/restore-vm.ts';
import type { KubeObject } from '../../src/velero/types.ts';

const matcher: MatcherRef & { revisionName: string } = {
  role: 'instancetype',
  name: 'u1.medium',
  kind: 'VirtualMachineClusterInstancetype',
  clusterScoped: true,
  revisionName: 'vm-it-1',
  revisionFrom: 'spec',
};
const revision = (labels: Record<string, string> = {}, spec: Record<string, unknown> = { cpu: { guest: 1 } }): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ControllerRevision',
  metadata: { name: 'vm-it-1', namespace: 'dst', labels },
  data: { spec } as never,
});
const { revisionName: _unused, ...unpinned }: MatcherRef = matcher;
const restoredNow = revision({ 'velero.io/restore-name': 'r1' });
const copy = { role: 'instancetype' as const, name: 'vm-it-1', labels: {}, data: { spec: { cpu: { guest: 1 } } } as never };
const vm: KubeObject = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm', namespace: 'src' }, spec: { instancetype: { name: 'u1.medium' } } };

describe('copiesNeeded: the copies are decoded only when a decision reads them', () => {
  const cases: [string, MatcherFacts[], Partial<typeof DEFAULT_REVISION_OPTIONS>, boolean][] = [
    ['every revision restored by this restore', [{ matcher, inCluster: restoredNow }], {}, false],
    ['a revision that was already there (compared with its copy)', [{ matcher, inCluster: revision() }], {}, true],
    ['a revision not there yet (may be re-created from its copy)', [{ matcher }], {}, true],
    ['expand-vms (the copy may be the definition)', [{ matcher, inCluster: restoredNow }], { expandVirtualMachines: true }, true],
    ['no revision referenced', [{ matcher: unpinned }], {}, false],
  ];
  for (const [name, facts, options, want] of cases) {
    it(name, () => expect(copiesNeeded(facts, 'r1', { ...DEFAULT_REVISION_OPTIONS, ...options })).toBe(want));
  }
  it('withCopies attaches the copy of the same name and role only', () => {
    const facts = withCopies([{ matcher }, { matcher: { ...matcher, role: 'preference' } }], [copy]);
    expect(facts.map((f) => f.copy !== undefined)).toEqual([true, false]);
  });
});

describe('planExecute', () => {
  const input = (facts: MatcherFacts[]) => ({
    item: vm,
    matchers: [matcher],
    facts,
    options: DEFAULT_REVISION_OPTIONS,
    restoreName: 'r1',
    targetNamespace: 'dst',
    originalNamespace: 'src',
    vmKey: 'dst/vm',
    expand: () => {
      throw new Error('not expected');
    },
  });
  const cases: [string, MatcherFacts, { outcome: string; wanted: string[]; pending: number }][] = [
    ['restored by this restore: pinned, nothing asked', { matcher, inCluster: restoredNow, objectInCluster: revision() }, { outcome: 'restored', wanted: [], pending: 0 }],
    ['already there', { matcher, inCluster: revision(), copy, objectInCluster: revision() }, { outcome: 'already-there', wanted: [], pending: 0 }],
    ['missing: asked from the backup (in the ORIGINAL namespace), decided later', { matcher, copy }, { outcome: '', wanted: ['virtualmachineclusterinstancetypes//u1.medium', 'controllerrevisions/src/vm-it-1'], pending: 1 }],
  ];
  for (const [name, facts, want] of cases) {
    it(name, () => {
      const plan = planExecute(input([facts]));
      expect(plan.logs.map((l) => l.fields?.['outcome']).filter(Boolean)).toEqual(want.outcome ? [want.outcome] : []);
      expect(plan.wanted.map((w) => `${w.id.resource}/${w.id.namespace}/${w.id.name}`)).toEqual(want.wanted);
      expect(plan.pending).toHaveLength(want.pending);
      expect(plan.ownRevisions).toBe(true);
      expect((plan.vm['spec'] as { instancetype: { revisionName?: string } }).instancetype.revisionName).toBe('vm-it-1');
    });
  }
  it('an already-there revision whose definition differs from the copy is a warning', () => {
    const plan = planExecute(input([{ matcher, inCluster: revision({}, { cpu: { guest: 8 } }), copy, objectInCluster: revision() }]));
    expect(plan.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      expect.stringContaining('DIFFERS from the point-in-time copy') as unknown as string,
    ]);
  });
});

describe('planExecute under missing-revision-policy=expand: missing means neither in the cluster nor coming from the backup', () => {
  const expandedVm: KubeObject = { ...vm, spec: { template: { spec: { domain: { cpu: { cores: 1 } } } } } };
  const expand = (): { ok: true; vm: KubeObject } => ({ ok: true, vm: expandedVm });
  const planFor = (facts: MatcherFacts[], options: Partial<typeof DEFAULT_REVISION_OPTIONS> = {}, mayComeFromBackup?: (id: { resource: string }) => boolean) =>
    planExecute({
      item: vm,
      matchers: facts.map((f) => f.matcher),
      facts,
      options: { ...DEFAULT_REVISION_OPTIONS, missingRevisionPolicy: 'expand', ...options },
      restoreName: 'r1',
      targetNamespace: 'dst',
      originalNamespace: 'src',
      vmKey: 'dst/vm',
      expand,
      ...(mayComeFromBackup ? { mayComeFromBackup } : {}),
    });
  const plan = (f: MatcherFacts, mayComeFromBackup?: (id: { resource: string }) => boolean) => planFor([f], {}, mayComeFromBackup);
  const pinned = (p: ReturnType<typeof plan>): string | undefined => (p.vm['spec'] as { instancetype?: { revisionName?: string } }).instancetype?.revisionName;
  const object = { objectInCluster: revision() };

  it('recorded as in the backup, not in the cluster yet (restore by selector): pinned, asked for, decided late', () => {
    const p = plan({ matcher, copy: { ...copy, inBackup: true }, ...object });
    expect(pinned(p)).toBe('vm-it-1');
    expect(p.logs.some((l) => l.fields?.['outcome'] === 'expanded')).toBe(false);
    expect(p.pending.map((f) => f.matcher.revisionName)).toEqual(['vm-it-1']);
    expect(p.wanted.map((w) => `${w.id.resource}/${w.id.namespace}/${w.id.name}`)).toEqual(['controllerrevisions/src/vm-it-1']);
    expect(p.ownRevisions).toBe(true);
  });
  it('recorded as NOT in the backup: expanded', () => {
    const p = plan({ matcher, copy: { ...copy, inBackup: false }, ...object });
    expect(p.vm).toBe(expandedVm);
    expect(p.pending).toEqual([]);
    expect(p.logs.map((l) => l.fields?.['outcome'])).toContain('expanded');
  });
  it('recorded as in the backup, but the restore filters out controllerrevisions: missing, expanded', () => {
    const p = plan({ matcher, copy: { ...copy, inBackup: true }, ...object }, (id) => id.resource !== 'controllerrevisions');
    expect(p.vm).toBe(expandedVm);
  });
  it('a backup from before the record (or KubeVirt\'s Go plugin, no copy): expanded as before', () => {
    expect(plan({ matcher, copy, ...object }).vm).toBe(expandedVm);
    expect(plan({ matcher, ...object }).vm).toBe(expandedVm);
  });
  it('one revision coming, the other missing: the VM is still expanded', () => {
    const preference: MatcherRef & { revisionName: string } = { ...matcher, role: 'preference', kind: 'VirtualMachineClusterPreference', name: 'p', revisionName: 'vm-p-1' };
    const p = planFor([
      { matcher, copy: { ...copy, inBackup: true }, ...object },
      { matcher: preference, copy: { ...copy, role: 'preference', name: 'vm-p-1', inBackup: false }, ...object },
    ]);
    expect(p.vm).toBe(expandedVm);
  });
  it('expand-vms still expands a VM whose revisions are coming', () => {
    const p = planFor([{ matcher, copy: { ...copy, inBackup: true }, ...object }], { missingRevisionPolicy: 'recreate', expandVirtualMachines: true });
    expect(p.vm).toBe(expandedVm);
  });
});

describe('lateStep: what each late decision does and says', () => {
  const facts: RevisionFacts = { matcher };
  const created = revision();
  const cases: [LateDecision, { create: boolean; level: string; refusal: boolean }][] = [
    [{ outcome: 'restored' }, { create: false, level: 'info', refusal: false }],
    [{ outcome: 'already-there', differs: true }, { create: false, level: 'warn', refusal: false }],
    [{ outcome: 'recreate-from-copy', revision: created }, { create: true, level: 'info', refusal: false }],
    [{ outcome: 'recreate-from-object', revision: created }, { create: true, level: 'warn', refusal: false }],
    [{ outcome: 'refused', message: 'no' }, { create: false, level: 'error', refusal: true }],
  ];
  for (const [decision, want] of cases) {
    it(decision.outcome, () => {
      const step = lateStep(facts, decision, 'dst');
      expect({ create: step.create !== undefined, level: step.log.level, refusal: step.refusal !== undefined }).toEqual(want);
    });
  }
});

describe('ownerProgress', () => {
  const cases: [string, Parameters<typeof ownerProgress>[0], Partial<ReturnType<typeof ownerProgress>>][] = [
    ['all owned', [{ owned: true }, { owned: true }], { completed: true, err: '', nCompleted: 2, description: 'revisions of VirtualMachine ns/vm are owned by it' }],
    ['a passing failure is retried, and said', [{ owned: true }, { owned: false, retry: 'revision b: reset' }], { completed: false, nCompleted: 1, description: 'setting owner references on revisions of VirtualMachine ns/vm; retrying: revision b: reset' }],
    ['a problem ends the operation with the error', [{ owned: false, problem: 'revision b does not exist' }], { completed: true, err: 'revision b does not exist', nCompleted: 0 }],
  ];
  for (const [name, results, want] of cases) it(name, () => expect(ownerProgress(results, 'ns/vm')).toMatchObject(want));
});
