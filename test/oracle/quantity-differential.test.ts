// Our quantity parsing and printing against Kubernetes' own (resource.Quantity inside the Go oracle):
// quantities are written into a VM's resource requests and the oracle prints them back canonically.
import { beforeAll, describe, expect, it } from 'vitest';
import { formatQuantity, parseQuantity } from '../../src/kubevirt/expand/quantity.ts';
import { rng } from './corpus.ts';
import { normalizeWithOracle, oracleBinary } from './oracle-client.ts';

let bin = '';
beforeAll(async () => {
  bin = await oracleBinary();
}, 30 * 60_000);

function randomQuantities(seed: number, count: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const suffixes = ['', '', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'e3', 'e-2', 'E6', 'e0'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const whole = String(Math.floor(r() * pick([1, 10, 1000, 1024, 1_000_000, 4_294_967_296])));
    const frac = r() < 0.3 ? `.${String(Math.floor(r() * 10_000)).padStart(pick([1, 2, 4]), '0')}` : '';
    const sign = r() < 0.1 ? '-' : r() < 0.05 ? '+' : '';
    const zeros = r() < 0.1 ? '00' : '';
    out.push(`${sign}${zeros}${whole}${frac}${pick(suffixes)}`);
  }
  return out;
}

describe('quantities match Kubernetes', () => {
  it('20,000 random quantities print the same canonical text', async () => {
    const qs = randomQuantities(99, 20_000);
    const vms = qs.map((q) => ({ spec: { template: { spec: { domain: { resources: { requests: { memory: q } } } } } } }));
    const back = (await normalizeWithOracle(bin, vms)) as { spec: { template: { spec: { domain: { resources: { requests: { memory: string } } } } } } }[];
    const diffs: string[] = [];
    qs.forEach((q, i) => {
      const theirs = back[i]?.spec.template.spec.domain.resources.requests.memory;
      const ours = formatQuantity(parseQuantity(q));
      if (theirs !== ours) diffs.push(`${q}: Kubernetes ${String(theirs)} / ours ${ours}`);
    });
    expect(diffs.slice(0, 20), `${diffs.length} of ${qs.length} differ`).toEqual([]);
  }, 120_000);
});
