// Install mode: the container image's entrypoint (`kubevirt-velero-plugin install /target`).
// `velero plugin add IMAGE` runs the image as an init container with Velero's plugin volume mounted at
// /target. The image has no shell and no cp, so the binary copies itself and the two C++ runtime
// libraries that lie beside it. Modes matter: Velero runs every file with an exec bit in its plugin
// dir as a plugin, so the libraries get 0644 (found through LD_LIBRARY_PATH=/plugins all the same).
import fs from 'node:fs';
import path from 'node:path';
import { isSea } from 'node:sea';

export const DEFAULT_TARGET_DIR = '/target';
export const RUNTIME_LIBRARIES = ['libstdc++.so.6', 'libgcc_s.so.1'] as const;

const USAGE = `usage: kubevirt-velero-plugin install [TARGET_DIR]

Copies this plugin binary and its libraries (${RUNTIME_LIBRARIES.join(', ')}) into TARGET_DIR
(default ${DEFAULT_TARGET_DIR}), the directory Velero loads plugins from. It is the entrypoint of the
plugin's container image, run by Velero as an init container.
`;

export class InstallError extends Error {
  override readonly name = 'InstallError';
}

export interface InstalledFile {
  path: string;
  mode: number;
  bytes: number;
}

/**
 * Copies `executable` and the runtime libraries found in its directory into `targetDir`.
 * Libraries go first and the executable last, so that a plugin dir never holds the executable
 * without what it needs; each file is written under a temporary name and renamed into place, so a
 * reader sees either the old file or the complete new one.
 */
export function installFiles(executable: string, targetDir: string): InstalledFile[] {
  const target = path.resolve(targetDir);
  checkTargetDir(target);
  const sourceDir = path.dirname(executable);
  const plan: { from: string; name: string; mode: number }[] = [];
  for (const lib of RUNTIME_LIBRARIES) {
    const from = path.join(sourceDir, lib);
    if (!isRegularFile(from)) {
      throw new InstallError(`${lib} is missing beside ${executable}: the plugin was not built or packaged completely`);
    }
    plan.push({ from, name: lib, mode: 0o644 });
  }
  plan.push({ from: executable, name: path.basename(executable), mode: 0o755 });
  return plan.map(({ from, name, mode }) => place(from, target, name, mode));
}

function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function checkTargetDir(target: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (err) {
    throw new InstallError(`target directory ${target} ${describe(err)} (mount Velero's plugin volume there)`);
  }
  if (!stat.isDirectory()) throw new InstallError(`target ${target} is not a directory`);
}

function place(from: string, dir: string, name: string, mode: number): InstalledFile {
  const final = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.tmp-${process.pid}`);
  try {
    fs.copyFileSync(from, tmp);
    // Set explicitly: copyFile keeps the source's mode and the umask may have narrowed it.
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, final);
  } catch (err) {
    removeQuietly(tmp);
    throw new InstallError(`cannot install ${name} into ${dir}: ${describe(err)}`);
  }
  return { path: final, mode, bytes: fs.statSync(final).size };
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // The error that brought us here is the one worth reporting.
  }
}

/** A sentence for the usual file system failures, keeping the system's own text for the rest. */
function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'does not exist';
    case 'ENOTDIR': return 'has a path component that is not a directory';
    case 'EROFS': return 'is on a read-only file system';
    case 'EACCES':
    case 'EPERM': return `is not writable by uid ${process.getuid?.() ?? '?'}`;
    case 'ENOSPC': return 'has no space left';
    case 'EISDIR': return 'a directory is in the way';
    default: return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Entry of install mode; `args` are the arguments after `install`. Returns the process exit code:
 * 0 installed, 1 failed, 2 bad usage.
 */
export function runInstall(args: string[]): number {
  const positional = args.filter((a) => !a.startsWith('-'));
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positional.length !== args.length || positional.length > 1) {
    process.stderr.write(`kubevirt-velero-plugin install: unexpected arguments: ${args.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  if (!isSea()) {
    // Outside the single executable, process.execPath is the node interpreter: never install that.
    process.stderr.write('kubevirt-velero-plugin install: error: install mode works only from the built executable (npm run build)\n');
    return 1;
  }
  const target = positional[0] ?? DEFAULT_TARGET_DIR;
  try {
    for (const file of installFiles(process.execPath, target)) {
      process.stdout.write(`installed ${file.path} (mode ${file.mode.toString(8)}, ${file.bytes} bytes)\n`);
    }
    return 0;
  } catch (err) {
    const message = err instanceof InstallError ? err.message : `unexpected failure: ${String(err)}`;
    process.stderr.write(`kubevirt-velero-plugin install: error: ${message}\n`);
    return 1;
  }
}
