// The host's pure pieces, as tables.
import { describe, expect, it } from 'vitest';
import { stackFramesOf, toServiceError } from '../../src/host/errors.ts';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, goTimestamp, logLevelFromArgs, parseLogLevel, silentLogger } from '../../src/host/logger.ts';
import { decodeOperationId, encodeOperationId } from '../../src/host/operation-id.ts';
import { PluginRegistry, validatePluginName } from '../../src/host/registry.ts';

const silent = silentLogger;

describe('plugin names (Velero aborts start-up on a bad one)', () => {
  it.each(['kubevirt-velero-plugin/backup-virtualmachine-action', 'velero.io/pod', 'a.b-c/x'])('accepts %s', (name) => {
    expect(() => validatePluginName(name)).not.toThrow();
  });
  it.each([
    ['no slash', 'kubevirt'],
    ['two slashes', 'a/b/c'],
    ['an empty prefix', '/x'],
    ['an empty name', 'a/'],
    ['an upper-case prefix', 'KubeVirt/x'],
    ['a prefix ending in a dash', 'a-/x'],
  ])('refuses %s', (_what, name) => {
    expect(() => validatePluginName(name)).toThrow();
  });
  it('refuses a name registered twice, even under another kind', () => {
    const registry = new PluginRegistry();
    registry.register('BackupItemAction', 'a.io/x', () => ({ appliesTo: () => ({}), execute: async (i) => ({ item: i.item }) }));
    expect(() =>
      registry.register('BackupItemActionV2', 'a.io/x', () => ({ appliesTo: () => ({}), execute: async (i) => ({ item: i.item }) })),
    ).toThrow(/registered twice/);
  });
  it('creates an action only when first used, once', () => {
    const registry = new PluginRegistry();
    let created = 0;
    registry.register('RestoreItemAction', 'a.io/r', () => {
      created++;
      return { appliesTo: () => ({}), execute: async (i) => ({ item: i.item }) };
    });
    expect(registry.list()).toEqual([{ kind: 'RestoreItemAction', name: 'a.io/r' }]);
    expect(created).toBe(0);
    registry.resolve('RestoreItemAction', 'a.io/r', silent);
    registry.resolve('RestoreItemAction', 'a.io/r', silent);
    expect(created).toBe(1);
  });
});

describe('log levels from Velero arguments', () => {
  it.each([
    [['--log-level=debug'], 'debug'],
    [['--log-level', 'warning'], 'warn'],
    [['--features=EnableCSI', '--log-level=trace', '--uploader-type=kopia'], 'trace'],
    [['--log-level', 'fatal'], 'error'],
    [['--log-level', 'panic'], 'error'],
    [['--unknown', 'x'], 'info'],
    [[], 'info'],
    [['--log-level'], 'info'],
    // Repeated (Velero >= 1.15 passes its server arguments on): the last one counts, as in Go.
    [['--log-level=debug', '--features=', '--log-level=info'], 'info'],
    [['--log-level', 'info', '--log-level=debug'], 'debug'],
  ] as const)('%j -> %s', (args, level) => {
    expect(logLevelFromArgs(args)).toBe(level);
  });
  it('maps unknown level names to info', () => {
    expect(parseLogLevel('loud')).toBe('info');
  });
  it("writes timestamps in Go's 2006-01-02T15:04:05.000000Z07:00 layout", () => {
    expect(goTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)))).toBe('2026-01-02T03:04:05.678000Z');
  });
});

describe('log lines (hclog JSON) with bound fields', () => {
  function linesOf(level: 'info' | 'debug', write: (log: ReturnType<typeof createLogger>) => void): Record<string, string>[] {
    const dir = mkdtempSync(join(tmpdir(), 'kvp-log-'));
    try {
      const fd = openSync(join(dir, 'log'), 'w');
      write(createLogger(level, fd));
      closeSync(fd);
      return readFileSync(join(dir, 'log'), 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, string>);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('a line carries the fields bound by with() (nested) and its own; its own win; @-keys stay hclog\'s', () => {
    const [line] = linesOf('info', (log) =>
      log.with({ backup: 'b1', name: 'vm-1' }).with({ plugin: 'p' }).info('backing up', { name: 'other', '@level': 'error', count: 3 }),
    );
    expect(line).toMatchObject({ '@level': 'info', '@message': 'backing up', backup: 'b1', plugin: 'p', name: 'other', count: '3' });
  });

  it('bound fields do not leak from one request\'s logger to another, nor to the root', () => {
    const lines = linesOf('info', (log) => {
      log.with({ name: 'vm-1' }).info('one');
      log.with({ restore: 'r1' }).info('two');
      log.info('three');
    });
    expect(lines.map((l) => [l['@message'], l['name'], l['restore']])).toEqual([
      ['one', 'vm-1', undefined],
      ['two', undefined, 'r1'],
      ['three', undefined, undefined],
    ]);
  });

  it('lines below the level are not written', () => {
    const lines = linesOf('info', (log) => {
      log.with({ name: 'vm-1' }).debug('hidden');
      log.with({ name: 'vm-1' }).trace('hidden too');
      log.with({ name: 'vm-1' }).warn('shown');
    });
    expect(lines.map((l) => l['@message'])).toEqual(['shown']);
    expect(linesOf('debug', (log) => log.with({ a: 'b' }).debug('now shown'))[0]).toMatchObject({ '@level': 'debug', a: 'b' });
  });
});

describe('operation IDs', () => {
  it('round-trip what, which object and since when', () => {
    const ref = { operation: 'own-revisions', namespace: 'ns-1', name: 'vm.a', started: new Date(1_700_000_000_123) };
    const id = encodeOperationId(ref);
    expect(id).toBe('own-revisions:ns-1/vm.a:1700000000123');
    expect(decodeOperationId(id)).toEqual(ref);
  });
  it('round-trip the further objects an operation works on', () => {
    const ref = { operation: 'own-revisions', namespace: 'ns', name: 'vm', started: new Date(5), objects: ['vm-it-v1beta1-u-1', 'vm-pref-v1beta1-u-1'] };
    const id = encodeOperationId(ref);
    expect(id).toBe('own-revisions:ns/vm:5:vm-it-v1beta1-u-1,vm-pref-v1beta1-u-1');
    expect(decodeOperationId(id)).toEqual(ref);
    expect(() => encodeOperationId({ ...ref, objects: ['a,b'] })).toThrow();
  });
  it('allow an empty namespace (cluster-scoped objects)', () => {
    expect(decodeOperationId('x:/name:1')).toMatchObject({ namespace: '', name: 'name' });
  });
  it.each(['', 'garbage', 'op:ns/name', 'Op:ns/name:1', 'op:ns/na/me:1'])('decode %j as not ours', (id) => {
    expect(decodeOperationId(id)).toBeUndefined();
  });
  it('refuse names that would make the ID ambiguous', () => {
    expect(() => encodeOperationId({ operation: 'x', namespace: 'a:b', name: 'n', started: new Date() })).toThrow();
  });
});

describe('error mapping', () => {
  it('parses V8 stack frames', () => {
    const err = new Error('boom');
    err.stack = 'Error: boom\n    at doThing (/app/x.js:10:5)\n    at /app/y.js:20:7\n    at new Foo (file:///a.ts:3:1)';
    expect(stackFramesOf(err)).toEqual([
      { function: 'doThing', file: '/app/x.js', line: 10 },
      { function: '', file: '/app/y.js', line: 20 },
      { function: 'new Foo', file: 'file:///a.ts', line: 3 },
    ]);
  });
  it('maps thrown non-errors to Aborted with a readable message', () => {
    expect(toServiceError({ weird: 1 })).toMatchObject({ code: 10, details: 'non-error thrown: {"weird":1}' });
  });
});
