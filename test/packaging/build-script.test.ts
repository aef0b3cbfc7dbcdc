// scripts/build.mjs refuses what it cannot ship. (What it does ship is checked in build-output.test.ts
// and run in velero-image.test.ts.)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = new URL('../../', import.meta.url).pathname;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvp-build-script-'));

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs the build with its own temporary directory, so that what a build leaves behind can be seen. */
function build(args: string[]) {
  const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
  const run = spawnSync(process.execPath, ['scripts/build.mjs', ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, TMPDIR: tmp },
  });
  if (run.error) throw run.error;
  return { ...run, leftInTmp: fs.readdirSync(tmp) };
}

describe('scripts/build.mjs', () => {
  it.each([
    { args: ['--bogus'], error: /build: error: unknown argument --bogus/ },
    { args: ['--entry', 'test/packaging/no-such-entry.ts', '--outdir', '/nonexistent/out'], error: /build: error: entry .*no-such-entry\.ts does not exist/ },
    { args: ['--max-glibc', 'jammy'], error: /build: error: --max-glibc must look like 2\.35, got jammy/ },
    { args: ['--outdir'], error: /build: error: --outdir needs a value/ },
    { args: ['--arch', 'riscv64'], error: /build: error: --arch must be one of x64, arm64, got riscv64/ },
    { args: ['--node-version', 'lts'], error: /build: error: --node-version must look like 24\.22\.3, got lts/ },
  ])('rejects $args', ({ args, error }) => {
    const run = build(args);
    expect(run.stderr).toMatch(error);
    expect(run.status).toBe(1);
  });

  it('refuses a bundle that would require a non-built-in module at run time', () => {
    const entry = path.join(work, 'optional-require.cjs');
    // The pattern of optional dependencies: a require in a try/catch, which esbuild leaves in place.
    fs.writeFileSync(entry, "let fast; try { fast = require('kvp-no-such-optional-module'); } catch { fast = undefined; }\nmodule.exports = fast;\n");
    const outdir = path.join(work, 'optional-require');
    const run = build(['--entry', entry, '--outdir', outdir]);
    expect(run.stderr).toMatch(/build: error: the bundle still requires kvp-no-such-optional-module at run time/);
    expect(run.status).toBe(1);
    expect(fs.existsSync(outdir)).toBe(false);
    // Its work directory (the bundle so far) is removed on the way out.
    expect(run.leftInTmp).toEqual([]);
  });

  it('refuses to write a file set that needs a newer glibc than the ceiling, and says which file needs what', () => {
    const outdir = path.join(work, 'too-old-ceiling');
    // Node (20 - 26) itself needs GLIBC_2.28, so no C++ runtime can make a 2.17 ceiling work.
    const run = build(['--test-plugin', '--outdir', outdir, '--max-glibc', '2.17']);
    expect(run.stderr).toMatch(/build: error: cannot ship a working file set:/);
    expect(run.stderr).toMatch(/kubevirt-velero-plugin needs GLIBC_2\.28 > 2\.17/);
    expect(run.status).toBe(1);
    expect(fs.existsSync(outdir)).toBe(false);
    // Its work directory (~110 MB: the bundle, the blob, the executable) is removed on the way out.
    expect(run.leftInTmp).toEqual([]);
  });
});
