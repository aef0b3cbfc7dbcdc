// CPU time read from /proc/<pid>/stat lines.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuMsOfStat } from '../../src/shared/proc-stat.ts';

const dir = mkdtempSync(join(tmpdir(), 'kvp-stat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cpuMsOfStat', () => {
  it('adds utime and stime (ticks of 10 ms), even when the command name has spaces and parentheses', () => {
    const file = join(dir, 'stat');
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    writeFileSync(file, '42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 123 45 0 0 20 0 7 0\n');
    expect(cpuMsOfStat(file)).toBe(1680);
  });
  it('the calling process itself: a whole number of milliseconds', () => {
    const own = cpuMsOfStat(`/proc/${process.pid}/stat`);
    expect(own === undefined || (Number.isInteger(own) && own >= 0)).toBe(true);
  });
  it('undefined for a file that is not there or not a stat line', () => {
    expect(cpuMsOfStat(join(dir, 'missing'))).toBeUndefined();
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'nonsense');
    expect(cpuMsOfStat(bad)).toBeUndefined();
  });
});
