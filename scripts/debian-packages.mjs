#!/usr/bin/env node
// Debian packages for the build and the tests, without touching the host's apt: apt-get runs with a
// private configuration (sources, lists, cache; signatures checked with the Debian archive keyring of
// the suite) and downloads the .deb files once into the cache
// ($KVP_CACHE_DIR or ~/.cache/kubevirt-velero-plugin)/debian-<suite>[-<arch>]/debs. Used by
// scripts/build.mjs (the C++ runtime shipped beside the binary), test/packaging/rootfs.ts (Velero's
// runtime image) and scripts/image-bases.sh (the distroless stand-in). The mirror is
// $KVP_DEBIAN_MIRROR or deb.debian.org.
//
// Usage: node scripts/debian-packages.mjs --suite SUITE [--arch amd64|arm64] PACKAGE...
//   prints the path of each package's .deb, one per line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './node-runtime.mjs';

/** The cache directory of `suite` and Debian `arch` (amd64 keeps the name it had before arm64 came). */
export function debianCacheBase(suite, arch = 'amd64') {
  return path.join(cacheDir(), arch === 'amd64' ? `debian-${suite}` : `debian-${suite}-${arch}`);
}

function run(cmd, args, cwd) {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (err) {
    const stderr = err?.stderr?.toString() ?? '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

/**
 * The .deb file of each of `packages` (exactly those, no dependencies) of Debian `suite` for `arch`,
 * downloaded when one is missing from the cache. Throws with a message on any failure.
 */
export function debianPackageFiles({ suite, arch = 'amd64', packages }) {
  const base = debianCacheBase(suite, arch);
  const debs = path.join(base, 'debs');
  const fileOf = (p) => (fs.existsSync(debs) ? fs.readdirSync(debs).sort().filter((f) => f.startsWith(`${p}_`)).at(-1) : undefined);
  if (packages.some((p) => fileOf(p) === undefined)) {
    const keyring = `/usr/share/keyrings/debian-archive-${suite}-stable.gpg`;
    if (!fs.existsSync(keyring)) throw new Error(`${keyring} is missing (apt-get install debian-archive-keyring)`);
    for (const d of ['lists/partial', 'cache/archives/partial', 'debs']) fs.mkdirSync(path.join(base, d), { recursive: true });
    const sources = path.join(base, 'sources.list');
    const mirror = process.env.KVP_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
    fs.writeFileSync(sources, `deb [signed-by=${keyring}] ${mirror} ${suite} main\n`);
    const apt = [
      '-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/nonexistent',
      '-o', `Dir::State::Lists=${path.join(base, 'lists')}`, '-o', `Dir::Cache=${path.join(base, 'cache')}`,
      '-o', 'Dir::State::status=/dev/null', '-o', `APT::Architecture=${arch}`, '-o', 'APT::Sandbox::User=root',
    ];
    run('apt-get', [...apt, 'update']);
    run('apt-get', [...apt, 'download', ...packages], debs);
  }
  return packages.map((p) => {
    const file = fileOf(p);
    if (file === undefined) throw new Error(`package ${p} was not downloaded into ${debs}`);
    return path.join(debs, file);
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let suite;
  let arch = 'amd64';
  const packages = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--suite') suite = args[++i];
    else if (args[i] === '--arch') arch = args[++i];
    else packages.push(args[i]);
  }
  if (!suite || packages.length === 0) {
    process.stderr.write('usage: node scripts/debian-packages.mjs --suite SUITE [--arch amd64|arm64] PACKAGE...\n');
    process.exit(2);
  }
  try {
    for (const file of debianPackageFiles({ suite, arch, packages })) process.stdout.write(`${file}\n`);
  } catch (err) {
    process.stderr.write(`debian-packages: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
