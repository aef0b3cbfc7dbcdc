// How the binary decides what it is being asked to do: run as a plugin under Velero (the go-plugin
// magic cookie is set), install itself into a directory (the image's entrypoint), or explain itself
// to a person who ran it by hand, or inspect a backup tarball.
import type { PluginHost } from './plugin-host.ts';

const COOKIE_KEY = 'VELERO_PLUGIN';
const COOKIE_VALUE = 'hello';

export interface EntryOptions {
  /** The install mode; returns the exit code. */
  install: (args: string[]) => number;
  /** The inspect mode (a backup tarball, read-only); resolves to the exit code. */
  inspect?: (args: string[]) => Promise<number>;
}

export function runFromCommandLine(host: PluginHost, options: EntryOptions): void {
  const args = process.argv.slice(2);
  if (process.env[COOKIE_KEY] === COOKIE_VALUE) {
    host.serve({ args, env: process.env, writeHandshake: (line) => process.stdout.write(line) }).catch((err: unknown) => {
      process.stderr.write(`kubevirt-velero-plugin: cannot serve: ${String(err)}\n`);
      process.exit(1);
    });
    return;
  }
  if (args[0] === 'install') {
    process.exitCode = options.install(args.slice(1));
    return;
  }
  if (args[0] === 'inspect' && options.inspect !== undefined) {
    // Exit once the output is written: an idle keep-alive connection to the API server must not hold
    // the process open.
    void options.inspect(args.slice(1)).then((code) => {
      process.stdout.write('', () => process.exit(code));
    });
    return;
  }
  if (args[0] === 'version') {
    // Which Node runtime is inside (what an image scanner needs to know), on stdout for scripts.
    process.stdout.write(`kubevirt-velero-plugin node ${process.version} ${process.platform}-${process.arch}\n`);
    return;
  }
  process.stderr.write(
    'This binary is a Velero plugin and is not meant to be run directly.\n' +
      'Velero starts it from its plugin directory (see `velero plugin add`).\n' +
      'To copy it and its libraries into a plugin directory: kubevirt-velero-plugin install <dir>\n' +
      'To see what a restore of a backup would do: kubevirt-velero-plugin inspect <backup.tar.gz>\n' +
      'To show the Node runtime inside it: kubevirt-velero-plugin version\n',
  );
  process.exitCode = 1;
}
