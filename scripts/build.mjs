#!/usr/bin/env node
// Builds the plugin as one executable file that Velero can run from /plugins:
//   1. esbuild bundles the TypeScript entry (ESM, `.proto` files imported as text) into one CommonJS
//      file, because a Node single executable application (SEA) can only start a CommonJS script;
//   2. Node's SEA tooling turns that file into a blob, postject injects the blob into a copy of the
//      official node binary of the version pinned in scripts/node-runtime.json, fetched from the npm
//      registry (scripts/node-runtime.mjs) — never the build host's node. For the host's own arch that
//      same binary makes the blob, with a V8 code cache; for the other arch (--arch arm64 on an x64
//      host) the host-arch binary of the same version makes it without one (Node's rule for
//      cross-platform blobs: a code cache is only valid for the V8 that made it);
//   3. the two C++ runtime libraries the binary needs and Velero's image lacks (libstdc++.so.6,
//      libgcc_s.so.1) are placed beside it, mode 0644 so Velero does not take them for plugins.
//
// Velero v1.13 - v1.18 run on Ubuntu jammy (glibc 2.35). Every file we ship is checked with objdump:
// its glibc symbol versions must not exceed --max-glibc (default 2.35), and the libraries must
// define every version the binary asks of them. When the build host's own libraries are too new
// (Debian bookworm's libstdc++ needs GLIBC_2.36 for arc4random), the gcc-10 runtime of Debian
// bullseye (needs only glibc 2.18) is fetched with apt-get into a cache directory and used instead.
//
// Usage: node scripts/build.mjs [--test-plugin | --test-hooks] [--entry FILE --outdir DIR]
//                               [--max-glibc 2.35] [--arch x64|arm64] [--node-version V]
//                               [--no-code-cache] [--no-strip]
// --test-plugin builds the test actions (test/plugin/main.ts) into dist-test/; --test-hooks builds
// the product actions into dist-test-product/ with the test-only switches on (src/host/test-build.d.ts).
// (--node-version overrides the pin, for benchmarks of other runtimes only.)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianCacheBase, debianPackageFiles } from './debian-packages.mjs';
import { ARCHES, pinnedRuntime, runtimeBinary } from './node-runtime.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const postjectCli = path.join(repo, 'node_modules', 'postject', 'dist', 'cli.js');
const EXECUTABLE = 'kubevirt-velero-plugin';
const LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1'];
// Node's documented fuse: postject flips it so the binary knows it carries a blob.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const GLIBC_SONAMES = new Set([
  'libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'librt.so.1', 'ld-linux-x86-64.so.2',
  'ld-linux-aarch64.so.1',
]);
// The C++ runtime of Debian bullseye (gcc 10): old enough for any glibc >= 2.18, new enough for Node
// 20 - 26 (they ask at most GLIBCXX_3.4.21).
const FALLBACK_SUITE = 'bullseye';
const FALLBACK_PACKAGES = ['libstdc++6', 'libgcc-s1'];
/** Node's arch name -> Debian's arch and multiarch triplet, and the binutils prefix for it. */
const DEBIAN_ARCH = {
  x64: { debian: 'amd64', triplet: 'x86_64-linux-gnu', binutils: 'x86_64-linux-gnu-' },
  arm64: { debian: 'arm64', triplet: 'aarch64-linux-gnu', binutils: 'aarch64-linux-gnu-' },
};

/** A build that cannot go on; reported in one line by the top level, after main() has cleaned up. */
class BuildError extends Error {}

function fail(message) {
  // Thrown, not process.exit(): an exit here skipped main()'s cleanup and left its ~110 MB work
  // directory in /tmp on every failed build (two per `npm test`, from the build script's own tests).
  throw new BuildError(message);
}

function info(message) {
  process.stderr.write(`build: ${message}\n`);
}

function parseArgs(argv) {
  const options = {
    entry: 'src/main.ts',
    outdir: 'dist',
    maxGlibc: '2.35',
    codeCache: true,
    strip: true,
    testBuild: false,
    arch: process.arch,
    nodeVersion: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) fail(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--test-plugin':
        options.entry = 'test/plugin/main.ts';
        options.outdir = 'dist-test';
        options.testBuild = true;
        break;
      case '--test-hooks':
        options.outdir = 'dist-test-product';
        options.testBuild = true;
        break;
      case '--entry': options.entry = value(); break;
      case '--outdir': options.outdir = value(); break;
      case '--max-glibc': options.maxGlibc = value(); break;
      case '--no-code-cache': options.codeCache = false; break;
      case '--no-strip': options.strip = false; break;
      case '--arch': options.arch = value(); break;
      case '--node-version': options.nodeVersion = value(); break;
      default: fail(`unknown argument ${arg}`);
    }
  }
  if (!/^\d+\.\d+$/.test(options.maxGlibc)) fail(`--max-glibc must look like 2.35, got ${options.maxGlibc}`);
  if (!ARCHES.includes(options.arch)) fail(`--arch must be one of ${ARCHES.join(', ')}, got ${options.arch}`);
  if (options.nodeVersion !== undefined && !/^\d+\.\d+\.\d+$/.test(options.nodeVersion)) {
    fail(`--node-version must look like 24.22.3, got ${options.nodeVersion}`);
  }
  options.entry = path.resolve(repo, options.entry);
  options.outdir = path.resolve(repo, options.outdir);
  return options;
}

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  } catch (err) {
    if (err.code === 'ENOENT') fail(`${cmd} not found; it is needed to build (install binutils / libc-bin)`);
    fail(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.message).toString().trim()}`);
  }
}

function hasCommand(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// --- ELF symbol versions (objdump -p) -------------------------------------------------------------

/**
 * A binutils tool for `arch`, or undefined: the host's own for the host's arch, else the cross one
 * (binutils-aarch64-linux-gnu). Without it, objdump falls back to the host's, which reads an aarch64
 * file as generic ELF all the same; the host's strip cannot write one.
 */
function binutil(tool, arch) {
  if (arch === process.arch) return tool;
  const cross = `${DEBIAN_ARCH[arch].binutils}${tool}`;
  if (hasCommand(cross)) return cross;
  return tool === 'objdump' ? tool : undefined;
}

/** Versions a file defines, and versions it requires from each soname (non-weak references only). */
function elfVersions(file, arch) {
  const text = run(binutil('objdump', arch), ['-p', file]);
  const defines = new Set();
  const requires = new Map();
  let section = '';
  let from = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('Version definitions:')) { section = 'def'; continue; }
    if (line.startsWith('Version References:')) { section = 'ref'; continue; }
    if (line.trim() === '') { section = ''; continue; }
    if (section === 'def') {
      const m = /^\d+\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(\S+)$/.exec(line.trim());
      if (m) defines.add(m[1]);
    } else if (section === 'ref') {
      const req = /^required from (\S+):$/.exec(line.trim());
      if (req) { from = req[1]; requires.set(from, requires.get(from) ?? new Set()); continue; }
      const m = /^0x[0-9a-f]+\s+0x([0-9a-f]+)\s+\d+\s+(\S+)$/.exec(line.trim());
      // VER_FLG_WEAK (0x2): the loader tolerates a missing weak version, so it sets no floor.
      if (m && (parseInt(m[1], 16) & 0x2) === 0) requires.get(from).add(m[2]);
    }
  }
  return { defines, requires };
}

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Highest GLIBC_x.y a file needs from glibc itself, e.g. "2.28". */
function maxGlibc(versions) {
  let max = '0';
  for (const [soname, names] of versions.requires) {
    if (!GLIBC_SONAMES.has(soname)) continue;
    for (const name of names) {
      const m = /^GLIBC_(\d+(?:\.\d+)*)$/.exec(name);
      if (m && compareVersions(m[1], max) > 0) max = m[1];
    }
  }
  return max;
}

/**
 * Problems with shipping `libs` (soname -> path) beside `executable`: glibc needs above the ceiling,
 * or versions the binary (or one library) needs from a library that it does not define.
 */
function checkFileSet(executable, libs, ceiling, arch) {
  const problems = [];
  const files = [[path.basename(executable), executable], ...libs];
  const versions = new Map(files.map(([name, file]) => [name, elfVersions(file, arch)]));
  for (const [name] of files) {
    const v = versions.get(name);
    const needed = maxGlibc(v);
    if (compareVersions(needed, ceiling) > 0) problems.push(`${name} needs GLIBC_${needed} > ${ceiling}`);
    for (const [soname, lib] of libs) {
      const missing = [...(v.requires.get(soname) ?? [])].filter((n) => !versions.get(soname).defines.has(n));
      if (missing.length > 0) problems.push(`${name} needs ${missing.join(', ')} that ${lib} does not define`);
    }
  }
  return { problems, versions };
}

// --- Libraries ------------------------------------------------------------------------------------

/** soname -> absolute path, as the dynamic loader of this host resolves them for `executable`. */
function lddLibraries(executable) {
  const text = run('ldd', [executable]);
  const found = new Map();
  for (const soname of LIBRARIES) {
    const m = new RegExp(`^\\s*${soname.replace(/[.+]/g, '\\$&')} => (\\S+)`, 'm').exec(text);
    if (!m || m[1] === 'not') fail(`ldd does not resolve ${soname} for ${executable}:\n${text}`);
    found.set(soname, fs.realpathSync(m[1]));
  }
  return found;
}

/** The Debian packages of `suite` for `arch`, extracted once into the cache (scripts/debian-packages.mjs). */
function debianPackagesRoot(suite, packages, arch) {
  const debianArch = DEBIAN_ARCH[arch].debian;
  const root = path.join(debianCacheBase(suite, debianArch), 'root');
  const marker = path.join(root, `.complete-${packages.join('+')}`);
  if (fs.existsSync(marker)) return root;
  info(`fetching ${packages.join(', ')} (${debianArch}) from Debian ${suite}`);
  let debs;
  try {
    debs = debianPackageFiles({ suite, arch: debianArch, packages });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  fs.mkdirSync(root, { recursive: true });
  for (const deb of debs) run('dpkg-deb', ['-x', deb, root]);
  fs.writeFileSync(marker, '');
  return root;
}

function fallbackLibraries(arch) {
  const root = debianPackagesRoot(FALLBACK_SUITE, FALLBACK_PACKAGES, arch);
  const { triplet } = DEBIAN_ARCH[arch];
  const found = new Map();
  for (const soname of LIBRARIES) {
    const candidates = [`usr/lib/${triplet}`, `lib/${triplet}`].map((d) => path.join(root, d, soname));
    const hit = candidates.find((c) => fs.existsSync(c));
    if (!hit) fail(`${soname} not found in Debian ${FALLBACK_SUITE} packages under ${root}`);
    found.set(soname, fs.realpathSync(hit));
  }
  return found;
}

// --- Steps ----------------------------------------------------------------------------------------

function packageVersion() {
  const { version } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+/.test(version)) fail(`package.json has no usable version: ${version}`);
  return version;
}

async function bundle(entry, workdir, nodeMajor, testBuild) {
  const outfile = path.join(workdir, 'main.cjs');
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${nodeMajor}`,
    loader: { '.proto': 'text' },
    define: {
      // The plugin's version, for its User-Agent (src/kube/user-agent.ts).
      __KVP_VERSION__: JSON.stringify(packageVersion()),
      'globalThis.__KVP_TEST_BUILD__': testBuild ? 'true' : 'false',
    },
    plugins: [optionalNativeModulesAbsent],
    // tr46 / whatwg-url (under @kubernetes/client-node's node-fetch) require('punycode'): Node's
    // built-in, deprecated, prints DEP0040 on stderr from Node 21 on. Velero logs that line as an
    // error of the backup, which then ends PartiallyFailed. The userland package has the same API.
    alias: { punycode: 'punycode/' },
    // Error stacks (sent to Velero as generated.Stack) keep readable function names.
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
  });
  // Inside the single executable, require() reaches only Node's built-in modules: anything esbuild
  // left unbundled (a require in a try/catch it could not resolve) would fail or warn at run time.
  const unbundled = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) if (imported.external && !isBuiltin(imported.path)) unbundled.add(imported.path);
  }
  if (unbundled.size > 0) {
    fail(`the bundle still requires ${[...unbundled].join(', ')} at run time, which a single executable cannot load; ` +
      'bundle it, or list it in OPTIONAL_NATIVE_MODULES if the dependency has a fallback');
  }
  const bytes = fs.statSync(outfile).size;
  info(`bundled ${path.relative(repo, entry)} -> ${(bytes / 1024).toFixed(0)} KiB of JavaScript`);
  return { outfile, metafile: result.metafile };
}

// Optional native add-ons that dependencies try to load inside try/catch (ws: bufferutil,
// utf-8-validate; node-fetch: encoding). Left as require() calls, each attempt makes the single
// executable print a warning on stderr, which is not an hclog line. Bundled as modules that throw,
// the dependencies take their pure-JavaScript fallback silently.
const OPTIONAL_NATIVE_MODULES = /^(bufferutil|utf-8-validate|encoding)$/;
const optionalNativeModulesAbsent = {
  name: 'optional-native-modules-absent',
  setup(b) {
    b.onResolve({ filter: OPTIONAL_NATIVE_MODULES }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`optional module ${args.path} is not bundled`)});`,
      loader: 'js',
    }));
  },
};

/**
 * The SEA executable for options.arch: `runtime` (that arch's official node) with the blob injected.
 * `blobMaker` is the same Node version for the host's arch, which can run here.
 */
function makeExecutable(script, workdir, options, runtime, blobMaker) {
  // A code cache is V8 machine state: only the V8 that will run it may make it.
  const codeCache = options.codeCache && options.arch === process.arch;
  const blob = path.join(workdir, 'sea.blob');
  const config = path.join(workdir, 'sea-config.json');
  fs.writeFileSync(config, JSON.stringify({
    main: script,
    output: blob,
    // Velero would log the warning on every start of every plugin process.
    disableExperimentalSEAWarning: true,
    // V8 code cache in the blob: skips compiling the bundle at each start (Velero starts the
    // plugin once per backup, restore and validation).
    useCodeCache: codeCache,
    useSnapshot: false,
  }, null, 2));
  run(blobMaker, ['--experimental-sea-config', config]);
  const exe = path.join(workdir, EXECUTABLE);
  fs.copyFileSync(runtime, exe);
  fs.chmodSync(exe, 0o755);
  const strip = binutil('strip', options.arch);
  if (options.strip && strip !== undefined && hasCommand(strip)) {
    // The symbol table is ~12 MB that nothing at run time reads; must happen before injection.
    run(strip, ['--strip-all', exe]);
  }
  // postject's CLI in a child process: its ELF library prints harmless warnings straight to fd 2,
  // which we show only if the injection fails.
  run(process.execPath, [postjectCli, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE, '--overwrite']);
  return { exe, codeCache };
}

/** Copies src to dir/name through a temporary file and a rename, so a reader never sees half a file. */
function place(src, dir, name, mode) {
  const tmp = path.join(dir, `.${name}.tmp-${process.pid}`);
  fs.copyFileSync(src, tmp);
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, path.join(dir, name));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(options.entry)) fail(`entry ${options.entry} does not exist`);
  if (process.platform !== 'linux') fail('the plugin binary is built for Linux (Velero runs on Linux)');
  const started = Date.now();
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvp-build-'));
  try {
    const version = options.nodeVersion ?? pinnedRuntime().version;
    let runtime;
    let blobMaker;
    try {
      runtime = runtimeBinary({ arch: options.arch, version });
      blobMaker = options.arch === process.arch ? runtime : runtimeBinary({ arch: process.arch, version });
    } catch (err) {
      fail(`cannot get Node ${version} for ${options.arch} from the npm registry: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { outfile } = await bundle(options.entry, workdir, version.split('.')[0], options.testBuild);
    const { exe, codeCache } = makeExecutable(outfile, workdir, options, runtime, blobMaker);

    // ldd can only resolve this host's own arch; another arch ships Debian bullseye's libraries directly.
    let libs = options.arch === process.arch ? lddLibraries(exe) : fallbackLibraries(options.arch);
    let check = checkFileSet(exe, libs, options.maxGlibc, options.arch);
    if (check.problems.length > 0 && options.arch === process.arch) {
      info(`host libraries are not fit to ship (${check.problems.join('; ')}); using Debian ${FALLBACK_SUITE}'s`);
      libs = fallbackLibraries(options.arch);
      check = checkFileSet(exe, libs, options.maxGlibc, options.arch);
    }
    if (check.problems.length > 0) fail(`cannot ship a working file set:\n  ${check.problems.join('\n  ')}`);

    fs.mkdirSync(options.outdir, { recursive: true });
    // Libraries first: the executable appears last, complete, with everything it needs beside it.
    for (const [soname, file] of libs) place(file, options.outdir, soname, 0o644);
    place(exe, options.outdir, EXECUTABLE, 0o755);

    const report = [[EXECUTABLE, exe], ...libs].map(([name, file]) => {
      const needs = maxGlibc(check.versions.get(name === EXECUTABLE ? EXECUTABLE : name));
      return `  ${name.padEnd(24)} ${(fs.statSync(file).size / 1e6).toFixed(1).padStart(6)} MB  needs GLIBC_${needs}${name === EXECUTABLE ? '' : `  from ${file}`}`;
    });
    info(`wrote ${options.outdir}/ in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(Node ${version} linux-${options.arch}, glibc ceiling ${options.maxGlibc}, code cache ${codeCache ? 'on' : 'off'}):\n${report.join('\n')}`);
  } finally {
    fs.rmSync(workdir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof BuildError)) throw err;
  process.stderr.write(`build: error: ${err.message}\n`);
  // main()'s finally has run: its work directory is gone.
  process.exit(1);
}
