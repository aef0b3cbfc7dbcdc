// Install mode of the product binary (dist/, npm run build): the image's entrypoint
// `kubevirt-velero-plugin install /target`. Velero runs every file with an exec bit in its plugin dir,
// so the modes are part of the contract: executable 0755, libraries 0644.
import { type SpawnSyncReturns, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runInstall } from '../../src/host/install.ts';

const DIST = new URL('../../dist/', import.meta.url).pathname;
const EXECUTABLE = 'kubevirt-velero-plugin';
const LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1'];
const FILES = [EXECUTABLE, ...LIBRARIES];
const MODES: Record<string, number> = { [EXECUTABLE]: 0o755, 'libstdc++.so.6': 0o644, 'libgcc_s.so.1': 0o644 };

let work: string;
const digests = new Map<string, string>();

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function install(args: string[], options: { binary?: string; uid?: number; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
  const run = spawnSync(options.binary ?? path.join(DIST, EXECUTABLE), ['install', ...args], {
    env: { PATH: '/usr/bin:/bin', ...options.env },
    encoding: 'utf8',
    timeout: 30_000,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
  });
  if (run.error) throw run.error;
  return run;
}

function newDir(name: string): string {
  return fs.mkdtempSync(path.join(work, `${name}-`));
}

/** What a directory holds: name -> mode and content digest. */
function contents(dir: string): Record<string, { mode: number; regular: boolean; sha256: string }> {
  const out: Record<string, { mode: number; regular: boolean; sha256: string }> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const stat = fs.lstatSync(path.join(dir, name));
    out[name] = { mode: stat.mode & 0o7777, regular: stat.isFile(), sha256: stat.isFile() ? sha256(path.join(dir, name)) : '' };
  }
  return out;
}

function expected(): Record<string, { mode: number; regular: boolean; sha256: string }> {
  return Object.fromEntries(FILES.slice().sort().map((f) => [f, { mode: MODES[f]!, regular: true, sha256: digests.get(f)! }]));
}

beforeAll(() => {
  for (const file of FILES) {
    if (!fs.existsSync(path.join(DIST, file))) throw new Error(`${DIST}${file} is missing: run npm run build first`);
    digests.set(file, sha256(path.join(DIST, file)));
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvp-install-'));
  fs.chmodSync(work, 0o755);
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('install mode copies the binary and its libraries', () => {
  it('into an empty directory, with modes 0755 / 0644 and identical bytes', () => {
    const target = newDir('empty');
    const run = install([target]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(contents(target)).toEqual(expected());
    expect(run.stdout.trim().split('\n')).toEqual([
      `installed ${target}/libstdc++.so.6 (mode 644, ${fs.statSync(path.join(DIST, 'libstdc++.so.6')).size} bytes)`,
      `installed ${target}/libgcc_s.so.1 (mode 644, ${fs.statSync(path.join(DIST, 'libgcc_s.so.1')).size} bytes)`,
      `installed ${target}/${EXECUTABLE} (mode 755, ${fs.statSync(path.join(DIST, EXECUTABLE)).size} bytes)`,
    ]);
  });

  it('over an older install with other contents and wrong modes (libraries made executable)', () => {
    const target = newDir('older');
    for (const file of FILES) {
      fs.writeFileSync(path.join(target, file), 'old');
      fs.chmodSync(path.join(target, file), file === EXECUTABLE ? 0o600 : 0o755);
    }
    fs.writeFileSync(path.join(target, 'velero-plugin-for-aws'), 'another plugin');
    expect(install([target]).status).toBe(0);
    const { 'velero-plugin-for-aws': other, ...ours } = contents(target);
    expect(ours).toEqual(expected());
    expect(other?.sha256).toBe(sha256(path.join(target, 'velero-plugin-for-aws')));
  });

  it('as uid 65532 (the image user) into a world-writable volume, as an emptyDir is', () => {
    const target = newDir('emptydir');
    fs.chmodSync(target, 0o777);
    const run = install([target], { uid: 65532 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(contents(target)).toEqual(expected());
    expect(fs.statSync(path.join(target, EXECUTABLE)).uid).toBe(65532);
  });

  it('resolves a relative target against the working directory', () => {
    const target = newDir('relative');
    const run = spawnSync(path.join(DIST, EXECUTABLE), ['install', '.'], { cwd: target, env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(contents(target)).toEqual(expected());
  });
});

describe('install mode fails clearly, leaving no partial file', () => {
  let readOnly: string | undefined;
  afterAll(() => {
    if (readOnly) execFileSync('umount', [readOnly]);
  });

  const cases: { name: string; setup: () => { args: string[]; uid?: number; binary?: string; dir?: string }; error: RegExp }[] = [
    {
      name: 'the target directory does not exist',
      setup: () => ({ args: [path.join(work, 'missing')] }),
      error: /target directory .*\/missing does not exist \(mount Velero's plugin volume there\)/,
    },
    {
      name: 'the default target /target does not exist',
      setup: () => {
        if (fs.existsSync('/target')) throw new Error('/target exists on this machine; the test would write into it');
        return { args: [] };
      },
      error: /target directory \/target does not exist/,
    },
    {
      name: 'the target is a file',
      setup: () => {
        const file = path.join(newDir('file'), 'plugins');
        fs.writeFileSync(file, '');
        return { args: [file] };
      },
      error: /target .*\/plugins is not a directory/,
    },
    {
      name: 'the target is on a read-only file system',
      setup: () => {
        readOnly = newDir('readonly');
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly]);
        return { args: [readOnly], dir: readOnly };
      },
      error: /cannot install libstdc\+\+\.so\.6 into .*: is on a read-only file system/,
    },
    {
      name: 'the target is not writable by the user (uid 65532, directory owned by root, 0755)',
      setup: () => {
        const dir = newDir('notmine');
        fs.chmodSync(dir, 0o755);
        return { args: [dir], uid: 65532, dir };
      },
      error: /cannot install libstdc\+\+\.so\.6 into .*: is not writable by uid 65532/,
    },
    {
      name: 'a directory stands where the executable goes',
      setup: () => {
        const dir = newDir('inway');
        fs.mkdirSync(path.join(dir, EXECUTABLE, 'inside'), { recursive: true });
        return { args: [dir], dir };
      },
      error: /cannot install kubevirt-velero-plugin into .*: a directory is in the way/,
    },
    {
      name: 'the libraries are not beside the binary',
      setup: () => {
        const lone = newDir('lone');
        fs.copyFileSync(path.join(DIST, EXECUTABLE), path.join(lone, EXECUTABLE));
        fs.chmodSync(path.join(lone, EXECUTABLE), 0o755);
        const dir = newDir('target');
        return { args: [dir], binary: path.join(lone, EXECUTABLE), dir };
      },
      error: /libstdc\+\+\.so\.6 is missing beside .*lone-\w+\/kubevirt-velero-plugin: the plugin was not built or packaged completely/,
    },
  ];

  it.each(cases)('when $name', ({ setup, error }) => {
    const { args, uid, binary, dir } = setup();
    const before = dir ? fs.readdirSync(dir).sort() : [];
    const run = install(args, { ...(uid === undefined ? {} : { uid }), ...(binary ? { binary } : {}) });
    expect(run.stderr).toMatch(/^kubevirt-velero-plugin install: error: /);
    expect(run.stderr).toMatch(error);
    expect(run.status).toBe(1);
    // Nothing half-written: no temporary file, and only what was there before or complete files.
    if (dir) {
      const after = fs.readdirSync(dir);
      expect(after.filter((f) => f.includes('.tmp-'))).toEqual([]);
      for (const f of after.filter((f) => !before.includes(f))) expect(sha256(path.join(dir, f))).toBe(digests.get(f));
    }
  });
});

describe('install mode arguments', () => {
  it.each([
    { args: ['a', 'b'], status: 2, stream: 'stderr', text: /unexpected arguments: a b\n\nusage: kubevirt-velero-plugin install \[TARGET_DIR\]/ },
    { args: ['--force', '/tmp'], status: 2, stream: 'stderr', text: /unexpected arguments: --force \/tmp/ },
    { args: ['--help'], status: 0, stream: 'stdout', text: /^usage: kubevirt-velero-plugin install \[TARGET_DIR\]/ },
  ] as const)('$args -> exit $status', ({ args, status, stream, text }) => {
    const run = install([...args]);
    expect(run[stream]).toMatch(text);
    expect(run.status).toBe(status);
  });

  it('is not install mode when Velero runs the binary (the cookie is set): it serves and copies nothing', async () => {
    const target = newDir('cookie');
    const child = spawn(path.join(DIST, EXECUTABLE), ['install', target], {
      env: { PATH: '/usr/bin:/bin', VELERO_PLUGIN: 'hello' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before the handshake`)));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    expect(line).toMatch(/^1\|2\|unix\|.+\|grpc\|$/);
    expect(fs.readdirSync(target)).toEqual([]);
  });
});

describe('runInstall outside the single executable (under node, e.g. tsx)', () => {
  it('refuses: process.execPath is the node interpreter, not the plugin', () => {
    const target = newDir('node');
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(runInstall([target])).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(/install mode works only from the built executable/);
    expect(fs.readdirSync(target)).toEqual([]);
  });
});
