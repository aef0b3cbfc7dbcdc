// Root file systems made of the Debian packages that Velero's runtime image contains, to run the
// packaged plugin under chroot the way it runs in Velero's pod: no libstdc++, no libgcc_s, no shell.
// Packages are fetched with apt-get under a private configuration (checked against the Debian archive
// keyring; the host's apt state is left alone), cached outside git, and extracted without their
// dependencies, exactly the listed set.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RootSpec {
  suite: string;
  /** glibc of the suite, for test names and messages. */
  glibc: string;
  packages: readonly string[];
  /** Debian architecture of the packages (default amd64). */
  arch?: 'amd64' | 'arm64';
}

/** Velero's image (paketo run-jammy-tiny) package set, from Debian bookworm (glibc 2.36). */
export const BOOKWORM_VELERO_IMAGE: RootSpec = {
  suite: 'bookworm',
  glibc: '2.36',
  packages: ['base-files', 'libc6', 'libssl3', 'netbase', 'openssl', 'tzdata', 'zlib1g', 'ca-certificates'],
};

/**
 * The same set from Debian bullseye (glibc 2.31, libssl1.1 in place of libssl3): older than jammy's
 * glibc 2.35, so a plugin that runs here does not depend on anything newer than jammy has.
 */
export const BULLSEYE_VELERO_IMAGE: RootSpec = {
  suite: 'bullseye',
  glibc: '2.31',
  packages: ['base-files', 'libc6', 'libssl1.1', 'netbase', 'openssl', 'tzdata', 'zlib1g', 'ca-certificates'],
};

export function cacheDir(): string {
  return process.env['KVP_CACHE_DIR'] ?? path.join(os.homedir(), '.cache', 'kubevirt-velero-plugin');
}

function run(cmd: string, args: string[], cwd?: string): void {
  try {
    execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

/** Downloads (once) the .deb files of `spec` and returns their paths. */
export function debianPackages(spec: RootSpec): string[] {
  const arch = spec.arch ?? 'amd64';
  // amd64 keeps the directory it always had (shared with scripts/build.mjs's bullseye cache).
  const base = path.join(cacheDir(), arch === 'amd64' ? `debian-${spec.suite}` : `debian-${spec.suite}-${arch}`);
  const debs = path.join(base, 'debs');
  const wanted = (file: string): boolean => spec.packages.some((p) => file.startsWith(`${p}_`));
  const present = fs.existsSync(debs) ? fs.readdirSync(debs).filter(wanted) : [];
  if (present.length < spec.packages.length) {
    const keyring = `/usr/share/keyrings/debian-archive-${spec.suite}-stable.gpg`;
    if (!fs.existsSync(keyring)) throw new Error(`${keyring} is missing (apt-get install debian-archive-keyring)`);
    for (const d of ['lists/partial', 'cache/archives/partial', 'debs']) fs.mkdirSync(path.join(base, d), { recursive: true });
    const sources = path.join(base, 'sources.list');
    fs.writeFileSync(sources, `deb [signed-by=${keyring}] http://deb.debian.org/debian ${spec.suite} main\n`);
    const apt = [
      '-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/nonexistent',
      '-o', `Dir::State::Lists=${path.join(base, 'lists')}`, '-o', `Dir::Cache=${path.join(base, 'cache')}`,
      '-o', 'Dir::State::status=/dev/null', '-o', `APT::Architecture=${arch}`, '-o', 'APT::Sandbox::User=root',
    ];
    run('apt-get', [...apt, 'update']);
    run('apt-get', [...apt, 'download', ...spec.packages], debs);
  }
  const files = fs.readdirSync(debs).filter(wanted).map((f) => path.join(debs, f));
  for (const p of spec.packages) {
    if (!files.some((f) => path.basename(f).startsWith(`${p}_`))) throw new Error(`package ${p} was not downloaded into ${debs}`);
  }
  return files;
}

/** Extracts the packages of `spec` into a new directory under `parent` and returns it. */
export function assembleRoot(spec: RootSpec, parent: string): string {
  const root = fs.mkdtempSync(path.join(parent, `root-${spec.suite}-${spec.arch ?? 'amd64'}-`));
  for (const deb of debianPackages(spec)) run('dpkg-deb', ['-x', deb, root]);
  // A container runtime provides these; the packages do not.
  for (const dir of ['tmp', 'plugins', 'dev', 'proc']) fs.mkdirSync(path.join(root, dir), { recursive: true });
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  return root;
}
