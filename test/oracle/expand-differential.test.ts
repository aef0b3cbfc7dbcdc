// Differential test: our expansion against KubeVirt v1.9.0's own Go code (test/oracle/main.go), on a
// hand-written corpus and >= 10,000 seeded random cases. Needs Go and the Go module proxy the first
// time (bash test/oracle/build.sh builds the oracle into ~/.cache); fails, never skips, without it.
// EXPAND_RANDOM_CASES and EXPAND_SEED change the random corpus; EXPAND_ORACLE_BIN names a prebuilt oracle.
import { beforeAll, describe, expect, it } from 'vitest';
import { type Case, handWrittenCorpus, randomCorpus } from './corpus.ts';
import { judge, type Mode, shrink, type Verdict } from './differential.ts';
import { oracleBinary } from './oracle-client.ts';

const RANDOM_CASES = Number(process.env['EXPAND_RANDOM_CASES'] ?? 10_000);
const SEED = Number(process.env['EXPAND_SEED'] ?? 20261122);

let bin = '';

beforeAll(async () => {
  bin = await oracleBinary();
}, 30 * 60_000);

function tally(verdicts: Verdict[]): Record<string, number> {
  const t: Record<string, number> = { cases: verdicts.length, expanded: 0, conflict: 0, error: 0, differences: 0 };
  for (const v of verdicts) {
    t[v.kubevirt] = (t[v.kubevirt] ?? 0) + 1;
    if (v.difference !== undefined) t['differences'] = (t['differences'] ?? 0) + 1;
  }
  return t;
}

/** Runs the corpus; on differences prints a minimal reproduction of the first few and fails. */
async function check(name: string, cases: Case[], mode: Mode): Promise<void> {
  const verdicts = await judge(bin, cases, mode);
  const counts = tally(verdicts);
  process.stdout.write(`${name} (${mode}): ${JSON.stringify(counts)}\n`);
  const failing = verdicts.flatMap((v, i) => (v.difference !== undefined ? [i] : []));
  const reports: string[] = [];
  for (const i of failing.slice(0, 3)) {
    const { c, verdict } = await shrink(bin, cases[i] as Case, mode);
    reports.push(
      `case ${c.id}: ${verdict.difference ?? '(difference vanished while shrinking)'}\n` +
        `minimal reproduction (vm, instancetype, preference):\n${JSON.stringify({ vm: c.vm, instancetype: c.instancetype, preference: c.preference })}`,
    );
  }
  const more = failing.length > 3 ? `\n... and ${failing.length - 3} more: ${failing.slice(3, 23).map((i) => cases[i]?.id).join(', ')}` : '';
  expect(failing.length, `${failing.length} of ${cases.length} cases differ from KubeVirt\n\n${reports.join('\n\n')}${more}`).toBe(0);
  // The corpus must exercise all three outcomes, or it proves little.
  expect(counts['expanded']).toBeGreaterThan(0);
  expect(counts['conflict']).toBeGreaterThan(0);
}

describe(`expansion matches KubeVirt v1.9.0 (Go oracle)`, () => {
  it('hand-written corpus: realistic instance types, OS preferences and VMs', async () => {
    await check('hand-written', handWrittenCorpus(), 'apply');
  }, 10 * 60_000);

  it(`${RANDOM_CASES} random combinations (seed ${SEED})`, async () => {
    expect(RANDOM_CASES).toBeGreaterThanOrEqual(1);
    await check('random', randomCorpus(SEED, RANDOM_CASES), 'apply');
  }, 20 * 60_000);

  it('with KubeVirt default cluster configuration, as KubeVirt Expand sets it', async () => {
    await check('hand-written+defaults', handWrittenCorpus(), 'expand');
    await check('random+defaults', randomCorpus(SEED + 1, Math.min(RANDOM_CASES, 5_000)), 'expand');
  }, 20 * 60_000);
});
