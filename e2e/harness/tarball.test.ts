// The backup tarball reader against archives written by a real tar (GNU tar, in the formats Go's
// archive/tar also writes: ustar, and pax / gnu records for names past 100 characters).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBackupTarballBytes } from './tarball.ts';

const dir = mkdtempSync(join(tmpdir(), 'kvp-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const longName = `resources/controllerrevisions.apps/namespaces/ns/${'vm-instancetype-v1beta1-'.repeat(6)}1.json`;
const files: Record<string, unknown> = {
  'metadata/version': '1',
  'resources/namespaces/cluster/ns.json': { kind: 'Namespace', metadata: { name: 'ns' } },
  'resources/virtualmachines.kubevirt.io/namespaces/ns/vm1.json': { kind: 'VirtualMachine', spec: { big: 9007199254740993n } },
  [longName]: { kind: 'ControllerRevision' },
};

// ustar cannot hold the long name (the 155+100 split needs a '/' at the right place): left out there.
const filesFor = (format: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(files).filter(([k]) => format !== 'ustar' || k !== longName));

function makeTarball(format: string): Buffer {
  const root = join(dir, format);
  for (const [path, content] of Object.entries(filesFor(format))) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).replace('"9007199254740993"', '9007199254740993'));
  }
  const out = join(dir, `${format}.tar.gz`);
  execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', root, 'metadata', 'resources']);
  return readFileSync(out);
}

describe('readBackupTarballBytes', () => {
  it.each(['pax', 'gnu', 'ustar'])('reads every .json file of a %s archive by its full path', (format) => {
    const items = readBackupTarballBytes(makeTarball(format));
    const expected = Object.keys(filesFor(format)).filter((k) => k.endsWith('.json')).sort();
    expect([...items.keys()].sort()).toEqual(expected);
    expect(items.get('resources/namespaces/cluster/ns.json')).toEqual({ kind: 'Namespace', metadata: { name: 'ns' } });
    // Lossless: an integer past 2^53 survives.
    expect(items.get('resources/virtualmachines.kubevirt.io/namespaces/ns/vm1.json')).toEqual({ kind: 'VirtualMachine', spec: { big: 9007199254740993n } });
  });
});
