// Runs a packaged binary inside a root file system with chroot, as Velero's pod would: Velero's
// environment, the plugin under /plugins, LD_LIBRARY_PATH=/plugins. The socket the plugin announces is
// a path inside the root; the host emulator dials it from outside through the root's directory.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type LaunchedPlugin, awaitHandshake } from '../host/emulator.ts';

export const CHROOT = ['/usr/sbin/chroot', '/usr/bin/chroot'].find((p) => fs.existsSync(p)) ?? 'chroot';

/** The environment Velero's pod gives a plugin (velero install / Helm chart), plus go-plugin's. */
export function veleroPodEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/home/cnb',
    VELERO_NAMESPACE: 'velero',
    VELERO_SCRATCH_DIR: '/scratch',
    LD_LIBRARY_PATH: '/plugins',
    VELERO_PLUGIN: 'hello',
    PLUGIN_PROTOCOL_VERSIONS: '2',
    PLUGIN_MIN_PORT: '10000',
    PLUGIN_MAX_PORT: '25000',
    ...extra,
  };
}

export interface ChrootRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in `root` to completion (for install mode and for start-up failures). */
export function runInRoot(root: string, argv: string[], env: Record<string, string>, userspec?: string): ChrootRun {
  const args = [...(userspec ? [`--userspec=${userspec}`] : []), root, ...argv];
  const result = spawnSync(CHROOT, args, { env, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Starts `command` (a path inside `root`) under chroot (through `opts.emulator` when given) with Velero's arguments and waits for the
 * handshake. The returned plugin's socketPath is the host path of the socket.
 */
export function launchInRoot(root: string, command: string, env: Record<string, string>, opts: { emulator?: string } = {}): Promise<LaunchedPlugin> {
  // `emulator`: a qemu-user binary inside the root that runs a binary of another architecture.
  const argv = [...(opts.emulator === undefined ? [] : [opts.emulator]), command];
  const child: ChildProcess = spawn(CHROOT, [root, ...argv, '--log-level=debug', '--features=EnableCSI', '--uploader-type=kopia'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return awaitHandshake(child, command, (announced) => path.join(root, announced));
}
