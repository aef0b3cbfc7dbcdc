#!/usr/bin/env node
// The Node runtime that goes into the plugin executable: the official binary of the version pinned in
// scripts/node-runtime.json, taken from the npm registry's node-linux-<arch> package (never the build
// host's own node, whose version and build flags we do not control). Downloaded once per arch and
// version into the cache (~/.cache/kubevirt-velero-plugin/node-runtime/ or $KVP_CACHE_DIR).
//
// Usage: node scripts/node-runtime.mjs [--arch x64|arm64] [--node-version V]   (prints the binary's path)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARCHES = ['x64', 'arm64'];

export function cacheDir() {
  return process.env.KVP_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'kubevirt-velero-plugin');
}

/** { version, integrity: { x64, arm64 } } from scripts/node-runtime.json. */
export function pinnedRuntime() {
  return JSON.parse(fs.readFileSync(path.join(here, 'node-runtime.json'), 'utf8'));
}

/**
 * Path of the official node binary for `arch` and `version` (default: the pinned one), downloaded
 * with `npm pack` (which checks the registry's own integrity) and, for the pinned version, checked
 * against the integrity recorded in node-runtime.json. Throws with a message on any failure.
 */
export function runtimeBinary({ arch = 'x64', version } = {}) {
  if (!ARCHES.includes(arch)) throw new Error(`no Node runtime package for arch ${arch} (known: ${ARCHES.join(', ')})`);
  const pin = pinnedRuntime();
  const wanted = version ?? pin.version;
  if (!/^\d+\.\d+\.\d+$/.test(wanted)) throw new Error(`Node version must look like 24.22.3, got ${wanted}`);
  const dir = path.join(cacheDir(), 'node-runtime', `linux-${arch}-${wanted}`);
  const binary = path.join(dir, 'node');
  if (fs.existsSync(binary)) return binary;

  // Everything happens in a staging directory beside the final one (same file system), renamed into
  // place complete: a concurrent or interrupted build never sees half a binary.
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    const spec = `node-linux-${arch}@${wanted}`;
    // cwd: the staging dir, so no project .npmrc or workspace changes what is fetched.
    const out = execFileSync('npm', ['pack', spec, '--json', '--silent', '--pack-destination', staging],
      { cwd: staging, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 << 20 });
    const [packed] = JSON.parse(out);
    if (!packed?.filename || !packed.integrity) throw new Error(`npm pack ${spec} gave no file/integrity`);
    const expected = wanted === pin.version ? pin.integrity[arch] : undefined;
    if (expected !== undefined && packed.integrity !== expected) {
      throw new Error(`${spec} has integrity ${packed.integrity}, node-runtime.json pins ${expected}`);
    }
    const tarball = path.join(staging, path.basename(packed.filename));
    execFileSync('tar', ['-xzf', tarball, '-C', staging, 'package/bin/node'], { stdio: 'ignore' });
    fs.renameSync(path.join(staging, 'package', 'bin', 'node'), path.join(staging, 'node'));
    fs.rmSync(path.join(staging, 'package'), { recursive: true, force: true });
    fs.rmSync(tarball, { force: true });
    try {
      fs.renameSync(staging, dir);
    } catch (err) {
      if (!fs.existsSync(binary)) throw err; // else another build put it there first
    }
    return binary;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  try {
    process.stdout.write(`${runtimeBinary({ arch: option('--arch') ?? 'x64', version: option('--node-version') })}\n`);
  } catch (err) {
    process.stderr.write(`node-runtime: error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
