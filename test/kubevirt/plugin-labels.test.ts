// The labels the plugin adds at backup for restores by selector, and takes off again on restore: the
// name label's value for every legal VM name, and the round trip of a user's own label of the same key.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { vmNameLabelValue, withVmNameLabel } from '../../src/kubevirt/backup-vm-item.ts';
import { withoutVmNameLabel } from '../../src/kubevirt/restore-vm.ts';
import type { KubeObject } from '../../src/velero/types.ts';

const KEY = 'velero.kubevirt.io/vm';
const ORIGINAL = 'velero.kubevirt.io/original-vm';
// Kubernetes' label value syntax (IsValidLabelValue).
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function vm(name: string, labels?: Record<string, string>, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: 'ns', ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    spec: {},
  };
}

describe('the name label value', () => {
  const long = `${'a'.repeat(56)}-.${'b'.repeat(195)}`; // 253 characters, a '-' and '.' at the cut
  it.each([
    { title: 'a short name is its own value', name: 'db01', expected: 'db01' },
    { title: 'exactly 63 characters: as is', name: 'x'.repeat(63), expected: 'x'.repeat(63) },
    {
      title: '64 characters: 57 characters and 6 hex digits of its SHA-256',
      name: 'y'.repeat(64),
      expected: 'y'.repeat(57) + createHash('sha256').update('y'.repeat(64)).digest('hex').slice(0, 6),
    },
    {
      title: '253 characters cut after a dot: still a valid label value',
      name: long,
      expected: long.slice(0, 57) + createHash('sha256').update(long).digest('hex').slice(0, 6),
    },
  ])('$title', ({ name, expected }) => {
    const value = vmNameLabelValue(name);
    expect(value).toBe(expected);
    expect(value.length).toBeLessThanOrEqual(63);
    expect(LABEL_VALUE.test(value)).toBe(true);
  });

  it('two long names sharing their first 57 characters get different values', () => {
    const a = `${'p'.repeat(60)}-one`;
    const b = `${'p'.repeat(60)}-two`;
    expect(vmNameLabelValue(a)).not.toBe(vmNameLabelValue(b));
  });
});

describe('backup then restore: the VM comes back with the labels it had', () => {
  it.each([
    { title: 'no labels at all', before: vm('db01'), storedValue: 'db01', storedOriginal: undefined },
    { title: 'other labels only', before: vm('db01', { app: 'db' }), storedValue: 'db01', storedOriginal: undefined },
    { title: "the user's own value of the key", before: vm('db01', { [KEY]: 'mine', app: 'db' }, { note: 'x' }), storedValue: 'db01', storedOriginal: 'mine' },
    { title: "the user's own value equal to the name", before: vm('db01', { [KEY]: 'db01' }), storedValue: 'db01', storedOriginal: 'db01' },
    { title: 'a long name', before: vm('z'.repeat(100)), storedValue: vmNameLabelValue('z'.repeat(100)), storedOriginal: undefined },
  ])('$title', ({ before, storedValue, storedOriginal }) => {
    const stored = withVmNameLabel(before);
    expect(stored.metadata.labels?.[KEY]).toBe(storedValue);
    expect(stored.metadata.annotations?.[ORIGINAL]).toBe(storedOriginal);
    const restored = withoutVmNameLabel(stored);
    expect(restored.metadata.labels ?? {}).toEqual(before.metadata.labels ?? {});
    expect(restored.metadata.annotations).toEqual(before.metadata.annotations);
    expect(before.metadata.labels?.[KEY]).toBe(storedOriginal); // the input was not changed
  });

  it('a backup made without the plugin: a user label of another value stays; one equal to the name goes', () => {
    expect(withoutVmNameLabel(vm('db01', { [KEY]: 'mine' })).metadata.labels).toEqual({ [KEY]: 'mine' });
    expect(withoutVmNameLabel(vm('db01', { [KEY]: 'db01' })).metadata.labels).toEqual({});
  });
});
