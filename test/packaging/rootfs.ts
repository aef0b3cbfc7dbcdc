// Root file systems made of the Debian packages that Velero's runtime image contains, to run the
// packaged plugin under chroot the way it runs in Velero's pod: no libstdc++, no libgcc_s, no shell.
// Packages come from scripts/debian-packages.mjs (a private apt configuration, cached outside git) and
// are extracted without their dependencies, exactly the listed set.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { debianPackageFiles } from '../../scripts/debian-packages.mjs';

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
  return debianPackageFiles({ suite: spec.suite, arch: spec.arch ?? 'amd64', packages: spec.packages });
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
