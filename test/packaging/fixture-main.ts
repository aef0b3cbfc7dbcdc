// A stand-in plugin entry for the packaging tests while the real host runtime is being written:
// same cookie rule and install mode as src/main.ts, and a handshake line printed after a unix socket
// is bound. It only proves that the packaged binary starts and can serve in Velero's image.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runInstall } from '../../src/host/install.ts';

if (process.env['VELERO_PLUGIN'] !== 'hello') {
  if (process.argv[2] === 'install') process.exit(runInstall(process.argv.slice(3)));
  process.stderr.write('This is a Velero plugin; Velero runs it.\n');
  process.exit(1);
}
const dir = process.env['PLUGIN_UNIX_SOCKET_DIR'] ?? os.tmpdir();
const socket = path.join(dir, `plugin-fixture-${process.pid}.sock`);
const server = net.createServer((conn) => conn.end('fixture\n'));
server.listen(socket, () => process.stdout.write(`1|2|unix|${socket}|grpc|\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
