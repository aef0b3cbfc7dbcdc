import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runtimeBinary } from '../../scripts/node-runtime.mjs';
import { HEAP_FLAGS } from '../../src/host/heap-tuning.ts';

// The Node that runs inside the plugin executable (pinned in scripts/node-runtime.json), not the one
// running vitest: the flags must exist, and work, in the V8 that ships.
const shippedNode = runtimeBinary();

// Churns allocations with many survivors (what makes V8 grow its young generation) in a fresh Node
// process, with or without our heap settings; returns the young generation's size (MiB) before and
// after. (Loading tsx has already grown it a little before the settings apply: hence before/after.)
const churn = (withTuning: boolean): { before: number; after: number } => {
  const script = `
    ${withTuning ? "await import('./src/host/heap-tuning.ts');" : ''}
    const v8 = await import('node:v8');
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
    const before = newSpace();
    let keep = [];
    const old = [];
    for (let i = 0; i < 300000; i++) {
      keep.push('x'.repeat(2000) + i);
      if (keep.length > 200) { if (i % 1000 === 0) old.push(keep); keep = []; }
      if (old.length > 5) old.shift();
    }
    process.stdout.write(JSON.stringify({ before, after: newSpace() }));`;
  const out = execFileSync(shippedNode, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out) as { before: number; after: number };
};

describe('V8 heap tuning of the plugin process', () => {
  // V8 prints "Error: unrecognized flag" on STDOUT for a flag it does not know, which would come
  // before the handshake line and make go-plugin reject the plugin: every flag must exist in the
  // Node that goes into the executable.
  it.each(HEAP_FLAGS)('%s is a flag the shipped Node knows', (flag) => {
    // A boolean flag is listed under its positive name (--no-maglev is --maglev negated).
    const name = flag.replace(/^--(no-)?/, '').replace(/=.*$/, '');
    const options = execFileSync(shippedNode, ['--v8-options'], { encoding: 'utf8' });
    expect(options).toContain(`--${name} `);
  });

  it('stops the young generation growing under a churn that grows it without the settings', () => {
    const untuned = churn(false);
    expect(untuned.after).toBeGreaterThanOrEqual(untuned.before * 2);
    const tuned = churn(true);
    // It does not grow (optimize-for-size may even shrink it).
    expect(tuned.after).toBeLessThanOrEqual(tuned.before);
  });
});
