// The VirtualMachine as it is stored in the backup: revision names copied from status into spec,
// point-in-time revision copies embedded, and nothing else changed.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readWorld } from '../../src/actions/backup-world.ts';
import { planVmLookups } from '../../src/kubevirt/backup-graph.ts';
import { selfDescribingVm } from '../../src/kubevirt/backup-vm-item.ts';
import { decodeRevisionCopies, encodeRevisionCopies, revisionCopiesOf } from '../../src/kubevirt/revision-copy.ts';
import { parseJson, stringifyJson } from '../../src/shared/json.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { FixedCluster, loadScenario, type Scenario } from '../fixtures/scenarios.ts';

const COPIES = 'velero.kubevirt.io/revision-copies';
const VM_LABEL = 'velero.kubevirt.io/vm';

async function stored(scenario: Scenario, inBackup?: (revision: KubeObject) => boolean) {
  const plan = planVmLookups(scenario.vm, { vmi: false, volumes: false });
  const world = await readWorld(new FixedCluster(scenario.cluster), plan, scenario.vm.metadata.namespace ?? '', 'test');
  return selfDescribingVm(scenario.vm, world, inBackup);
}

/** The VM with the fields the plugin may write removed: must equal the input with the same removed. */
function withoutPluginFields(vm: KubeObject): unknown {
  const copy = parseJson(stringifyJson(vm)) as {
    metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: Record<string, Record<string, unknown>>;
  };
  delete copy.metadata.annotations?.[COPIES];
  if (copy.metadata.labels?.[VM_LABEL] === copy.metadata.name) delete copy.metadata.labels[VM_LABEL];
  if (copy.metadata.labels && Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  for (const role of ['instancetype', 'preference']) delete copy.spec?.[role]?.['revisionName'];
  return copy;
}

interface Case {
  scenario: string;
  change?: (s: Scenario) => void;
  /** spec.instancetype.revisionName / spec.preference.revisionName in the stored VM. */
  specRevisions: { instancetype?: string; preference?: string };
  /** The embedded copies: role and name. */
  copies: string[];
  warnings: string[];
}

const CASES: Record<string, Case> = {
  'KubeVirt >= 1.5: status revision names written into spec, both revisions embedded': {
    scenario: 'v15-cluster-types-stopped',
    specRevisions: {
      instancetype: 'fedora-web-u1.medium-v1beta1-3b0c1d52-7a8e-4f4c-a1b2-c3d4e5f60718-1',
      preference: 'fedora-web-fedora-v1beta1-9d8c7b6a-5f4e-4d3c-8b2a-190817263544-1',
    },
    copies: [
      'instancetype fedora-web-u1.medium-v1beta1-3b0c1d52-7a8e-4f4c-a1b2-c3d4e5f60718-1',
      'preference fedora-web-fedora-v1beta1-9d8c7b6a-5f4e-4d3c-8b2a-190817263544-1',
    ],
    warnings: [],
  },
  'KubeVirt <= 1.4: spec already names the revisions; they are embedded': {
    scenario: 'v14-namespaced-running',
    specRevisions: {
      instancetype: 'db-db-large-v1beta1-aaaaaaaa-0000-4000-8000-000000000001-2',
      preference: 'db-rhel-v1beta1-bbbbbbbb-0000-4000-8000-000000000002-1',
    },
    copies: [
      'instancetype db-db-large-v1beta1-aaaaaaaa-0000-4000-8000-000000000001-2',
      'preference db-rhel-v1beta1-bbbbbbbb-0000-4000-8000-000000000002-1',
    ],
    warnings: [],
  },
  'missing instance type revision: only the preference revision is embedded': {
    scenario: 'v15-missing-revision',
    specRevisions: {
      instancetype: 'legacy-u1.small-v1beta1-eeeeeeee-0000-4000-8000-000000000005-1',
      preference: 'legacy-centos-v1beta1-ffffffff-0000-4000-8000-000000000006-1',
    },
    copies: ['preference legacy-centos-v1beta1-ffffffff-0000-4000-8000-000000000006-1'],
    warnings: [],
  },
  'a stale copy annotation from an earlier pass is replaced': {
    scenario: 'v15-pinned-old-name',
    specRevisions: { instancetype: 'restored-u1.large-12121212-0000-4000-8000-000000000007-1' },
    copies: ['instancetype restored-u1.large-12121212-0000-4000-8000-000000000007-1'],
    warnings: [],
  },
  'status still describes the previous instance type: spec is not pinned to its revision': {
    scenario: 'v15-paused',
    change: (s) => {
      (s.vm['spec'] as { instancetype: { name: string } }).instancetype.name = 'cx1.xlarge';
    },
    specRevisions: {},
    copies: [],
    warnings: [],
  },
  'no instance type: nothing written': {
    scenario: 'plain-standalone-dv',
    specRevisions: {},
    copies: [],
    warnings: [],
  },
  'a revision too large to embed: no annotation, a warning': {
    scenario: 'v15-paused',
    change: (s) => {
      const revision = s.cluster.find((o) => o.kind === 'ControllerRevision');
      // Incompressible: gzip cannot bring 200 KiB of random text under the annotation budget.
      if (revision) (revision['data'] as { spec: Record<string, unknown> }).spec['blob'] = randomBytes(150 * 1024).toString('base64');
    },
    specRevisions: { instancetype: 'batch-cx1.large-v1beta1-cccccccc-0000-4000-8000-000000000003-1' },
    copies: [],
    warnings: ['VM jobs/batch: revision copies not embedded: point-in-time copies of batch-cx1.large'],
  },
  'annotations already near the 256 KiB limit: no annotation, a warning': {
    scenario: 'v15-paused',
    change: (s) => {
      s.vm.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(261_800) };
    },
    specRevisions: { instancetype: 'batch-cx1.large-v1beta1-cccccccc-0000-4000-8000-000000000003-1' },
    copies: [],
    warnings: ["VM jobs/batch: embedding the revision copies would take its annotations over Kubernetes' 256 KiB limit"],
  },
};

describe('the VM as stored in the backup', () => {
  for (const [title, c] of Object.entries(CASES)) {
    it(title, async () => {
      const scenario = loadScenario(c.scenario);
      c.change?.(scenario);
      const before = stringifyJson(scenario.vm);
      const result = await stored(scenario);
      const spec = result.vm['spec'] as Record<string, { revisionName?: string } | undefined>;
      expect({ instancetype: spec['instancetype']?.revisionName, preference: spec['preference']?.revisionName }).toEqual({
        instancetype: c.specRevisions.instancetype,
        preference: c.specRevisions.preference,
      });
      const copies = revisionCopiesOf(result.vm);
      expect(copies.map((copy) => `${copy.role} ${copy.name}`)).toEqual(c.copies);
      // Each copy holds the revision's data exactly and only KubeVirt's labels.
      for (const copy of copies) {
        const revision = scenario.cluster.find((o) => o.kind === 'ControllerRevision' && o.metadata.name === copy.name);
        expect(stringifyJson(copy.data)).toBe(stringifyJson(revision?.['data']));
        expect(Object.keys(copy.labels).every((k) => k.startsWith('instancetype.kubevirt.io/object-'))).toBe(true);
      }
      expect(result.warnings.length).toBe(c.warnings.length);
      c.warnings.forEach((w, i) => expect(result.warnings[i]).toContain(w));
      // Mutations stay minimal: apart from the revision names and the copies, the VM is unchanged,
      // and the input object itself was not modified.
      expect(withoutPluginFields(result.vm)).toEqual(withoutPluginFields(scenario.vm));
      expect(stringifyJson(scenario.vm)).toBe(before);
    });
  }

  it('keeps int64 values beyond 2^53 exactly', async () => {
    const scenario = loadScenario('v15-cluster-types-stopped');
    const vm = parseJson(
      stringifyJson(scenario.vm).replace('"generation":2', '"generation":9007199254740993'),
    ) as unknown as KubeObject;
    scenario.vm = vm;
    const result = await stored(scenario);
    expect(stringifyJson(result.vm)).toContain('"generation":9007199254740993');
  });

  it('only KubeVirt labels of the revision are copied (unrelated labels are dropped)', async () => {
    const result = await stored(loadScenario('v14-namespaced-running'));
    const copy = revisionCopiesOf(result.vm).find((c) => c.role === 'instancetype');
    expect(copy?.labels).toEqual({
      'instancetype.kubevirt.io/object-kind': 'VirtualMachineInstancetype',
      'instancetype.kubevirt.io/object-name': 'db-large',
      'instancetype.kubevirt.io/object-uid': 'aaaaaaaa-0000-4000-8000-000000000001',
      'instancetype.kubevirt.io/object-generation': '2',
      'instancetype.kubevirt.io/object-version': 'v1beta1',
    });
  });

  it('is labelled with its name, so that it can be restored by selector', async () => {
    const result = await stored(loadScenario('v15-cluster-types-stopped'));
    expect(result.vm.metadata.labels?.[VM_LABEL]).toBe(result.vm.metadata.name);
  });

  it("a user's own label of the same key is kept in an annotation", async () => {
    const scenario = loadScenario('v15-cluster-types-stopped');
    scenario.vm.metadata.labels = { ...scenario.vm.metadata.labels, [VM_LABEL]: 'mine' };
    const result = await stored(scenario);
    expect(result.vm.metadata.labels?.[VM_LABEL]).toBe(scenario.vm.metadata.name);
    expect(result.vm.metadata.annotations?.['velero.kubevirt.io/original-vm']).toBe('mine');
  });

  it('a VM without annotations gets no empty annotations map', async () => {
    const result = await stored(loadScenario('plain-standalone-dv'));
    expect(result.vm.metadata.annotations).toBeUndefined();
  });

  it('each copy records whether its revision goes into the same backup, as the backup action decides', async () => {
    const scenario = loadScenario('v15-cluster-types-stopped');
    const result = await stored(scenario, (revision) => revision.metadata.name?.includes('u1.medium') === true);
    expect(revisionCopiesOf(result.vm).map((c) => `${c.role}:${String(c.inBackup)}`)).toEqual(['instancetype:true', 'preference:false']);
    // Without the decision nothing is recorded (as before this record existed).
    const unrecorded = await stored(scenario);
    expect(revisionCopiesOf(unrecorded.vm).map((c) => c.inBackup)).toEqual([undefined, undefined]);
  });
});

describe('the copies annotation: the in-backup record stays compatible', () => {
  const copy = { role: 'instancetype' as const, name: 'vm-it-1', labels: {}, data: { spec: { cpu: { guest: 1 } } } };
  it('round-trips true, false and unrecorded', () => {
    const decoded = decodeRevisionCopies(encodeRevisionCopies([{ ...copy, inBackup: true }, { ...copy, inBackup: false }, copy]));
    expect(decoded.map((c) => c.inBackup)).toEqual([true, false, undefined]);
    expect(encodeRevisionCopies([copy])).not.toContain('inBackup');
  });
  it('an annotation written before the record (same version 1) decodes with nothing recorded', () => {
    const old = JSON.stringify({ version: 1, revisions: [JSON.parse(encodeRevisionCopies([copy])).revisions[0]] });
    expect(decodeRevisionCopies(old)[0]).toEqual(copy);
  });
  it('a record that is not a boolean is malformed', () => {
    const bad = encodeRevisionCopies([copy]).replace('"dataGzipBase64"', '"inBackup":"yes","dataGzipBase64"');
    expect(() => decodeRevisionCopies(bad)).toThrow(/entry 0 is malformed/);
  });
});

describe('the copies annotation: compressed data is remembered by its text', () => {
  const copyOf = (cpu: number, name = `vm-it-${cpu}`) => ({ role: 'instancetype' as const, name, labels: {}, data: { spec: { cpu: { guest: cpu } } } });
  it('VMs of the same type (same data, other names) get the same compressed bytes, and each decodes to its own copy', () => {
    const first = encodeRevisionCopies([copyOf(2, 'vm-a-it')]);
    const second = encodeRevisionCopies([copyOf(2, 'vm-b-it')]);
    const gz = (annotation: string) => (JSON.parse(annotation) as { revisions: { dataGzipBase64: string }[] }).revisions[0]?.dataGzipBase64;
    expect(gz(second)).toBe(gz(first));
    expect(decodeRevisionCopies(second)).toEqual([copyOf(2, 'vm-b-it')]);
  });
  it('more distinct data than it remembers still encodes every copy right (oldest forgotten, none mixed up)', () => {
    const many = Array.from({ length: 200 }, (_, i) => copyOf(i + 1));
    for (const copy of many) expect(decodeRevisionCopies(encodeRevisionCopies([copy]))).toEqual([copy]);
    // Again, now that the first ones were dropped and the last ones are remembered.
    for (const copy of [...many].reverse()) expect(decodeRevisionCopies(encodeRevisionCopies([copy]))).toEqual([copy]);
  });
});
