// What `npm run build` / `npm run build:test` leave in dist/ and dist-test/, checked with objdump
// independently of the build script: exactly one executable and the two libraries, the right modes,
// nothing needed that Velero's image (Ubuntu jammy, glibc 2.35) lacks.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const EXECUTABLE = 'kubevirt-velero-plugin';
const LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1'];
/** glibc of paketobuildpacks/run-jammy-tiny, Velero v1.13 - v1.18's runtime image. */
const JAMMY_GLIBC = '2.35';
/** Libraries glibc itself provides, present in every Velero image. */
const GLIBC_LIBRARIES = ['libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'librt.so.1', 'ld-linux-x86-64.so.2'];

interface ElfVersions {
  needed: string[];
  defines: string[];
  /** soname -> versions required from it (weak references excluded: the loader tolerates them missing). */
  requires: Map<string, string[]>;
}

function elf(file: string): ElfVersions {
  const text = execFileSync('objdump', ['-p', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const result: ElfVersions = { needed: [], defines: [], requires: new Map() };
  let section = '';
  let from = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (raw.startsWith('Version definitions:')) section = 'def';
    else if (raw.startsWith('Version References:')) section = 'ref';
    else if (line === '') section = '';
    else if (/^NEEDED\s/.test(line)) result.needed.push(line.split(/\s+/)[1]!);
    else if (section === 'def') {
      const m = /^\d+\s+0x\w+\s+0x\w+\s+(\S+)$/.exec(line);
      if (m) result.defines.push(m[1]!);
    } else if (section === 'ref') {
      const req = /^required from (\S+):$/.exec(line);
      if (req) {
        from = req[1]!;
        result.requires.set(from, []);
      }
      const m = /^0x\w+\s+0x(\w+)\s+\d+\s+(\S+)$/.exec(line);
      if (m && (parseInt(m[1]!, 16) & 2) === 0) result.requires.get(from)!.push(m[2]!);
    }
  }
  return result;
}

function versionNumber(v: string): number[] {
  return v.split('.').map(Number);
}

function newer(a: string, b: string): boolean {
  const [pa, pb] = [versionNumber(a), versionNumber(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  }
  return false;
}

function glibcNeeds(e: ElfVersions): string[] {
  return GLIBC_LIBRARIES.flatMap((lib) => e.requires.get(lib) ?? [])
    .map((v) => /^GLIBC_([\d.]+)$/.exec(v)?.[1])
    .filter((v): v is string => v !== undefined);
}

describe.each(['dist', 'dist-test'])('%s/', (dir) => {
  const root = new URL(`../../${dir}/`, import.meta.url).pathname;
  const file = (name: string) => path.join(root, name);

  it('holds exactly the executable (0755) and the two libraries (0644), regular files, not links', () => {
    if (!fs.existsSync(root)) throw new Error(`${root} is missing: run npm run build && npm run build:test`);
    // dist/image/ is `npm run image`'s output (the OCI archive), not part of the plugin's file set.
    const entries = fs.readdirSync(root).filter((name) => !(dir === 'dist' && name === 'image')).sort().map((name) => {
      const stat = fs.lstatSync(file(name));
      return { name, regular: stat.isFile(), mode: stat.mode & 0o7777 };
    });
    expect(entries).toEqual(
      [EXECUTABLE, ...LIBRARIES].sort().map((name) => ({ name, regular: true, mode: name === EXECUTABLE ? 0o755 : 0o644 })),
    );
  });

  it(`needs nothing beyond glibc ${JAMMY_GLIBC} and the libraries beside it`, () => {
    const exe = elf(file(EXECUTABLE));
    expect(exe.needed.filter((lib) => !GLIBC_LIBRARIES.includes(lib) && !LIBRARIES.includes(lib))).toEqual([]);
    const tooNew = [EXECUTABLE, ...LIBRARIES].flatMap((name) =>
      glibcNeeds(elf(file(name)))
        .filter((v) => newer(v, JAMMY_GLIBC))
        .map((v) => `${name} needs GLIBC_${v}`),
    );
    expect(tooNew).toEqual([]);
  });

  it('ships libraries that define every symbol version the executable and each other ask of them', () => {
    const all = new Map([EXECUTABLE, ...LIBRARIES].map((name) => [name, elf(file(name))]));
    const missing: string[] = [];
    for (const [name, e] of all) {
      for (const lib of LIBRARIES) {
        for (const v of e.requires.get(lib) ?? []) {
          if (!all.get(lib)!.defines.includes(v)) missing.push(`${name} needs ${v} from ${lib}`);
        }
      }
    }
    expect(missing).toEqual([]);
    // The check above must have had something to check.
    expect(all.get(EXECUTABLE)!.requires.get('libstdc++.so.6')?.length).toBeGreaterThan(0);
  });
});
