// The Backup / Restore a request carries: decoded once per distinct content, shared and frozen.
import { describe, expect, it } from 'vitest';
import { decodeBackup, decodeRestore } from '../../src/host/wire.ts';

const bytesOf = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const backup = (name: string) => ({ apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name, uid: `uid-${name}` }, spec: { includedNamespaces: ['ns1'] } });

describe('the Backup of a request', () => {
  it('is decoded once for the same bytes: later calls get the same object', () => {
    const first = decodeBackup(bytesOf(backup('b1')));
    // A separate buffer with the same content, as each gRPC request brings its own.
    const second = decodeBackup(bytesOf(backup('b1')));
    expect(second).toBe(first);
    expect(first.metadata.name).toBe('b1');
  });

  it('is decoded again when the bytes differ, and the new one is kept', () => {
    const b1 = decodeBackup(bytesOf(backup('b1')));
    const b2 = decodeBackup(bytesOf(backup('b2')));
    expect(b2).not.toBe(b1);
    expect(b2.metadata.name).toBe('b2');
    expect(decodeBackup(bytesOf(backup('b2')))).toBe(b2);
  });

  it('is frozen all the way down: an action cannot change what the next call reads', () => {
    const decoded = decodeBackup(bytesOf(backup('b3')));
    expect(() => {
      (decoded.metadata as { name?: string }).name = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      (decoded.spec?.includedNamespaces as string[]).push('ns2');
    }).toThrow(TypeError);
  });

  it('does not keep the request buffer itself: changing it afterwards changes nothing', () => {
    const raw = bytesOf(backup('b4'));
    const decoded = decodeBackup(raw);
    raw.fill(0x20);
    expect(decodeBackup(bytesOf(backup('b4')))).toBe(decoded);
  });

  it('is still refused when it is not JSON, and an empty one is still tolerated', () => {
    expect(() => decodeBackup(Buffer.from('{not json'))).toThrow(/backup is not valid JSON/);
    expect(decodeBackup(Buffer.alloc(0)).kind).toBe('Backup');
  });
});

describe('the Restore of a request', () => {
  it('is kept apart from the Backup', () => {
    const restore = decodeRestore(bytesOf({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1' } }));
    const backupNow = decodeBackup(bytesOf(backup('b5')));
    expect(decodeRestore(bytesOf({ apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1' } }))).toBe(restore);
    expect(backupNow.kind).toBe('Backup');
    expect(Object.isFrozen(restore)).toBe(true);
  });
});
