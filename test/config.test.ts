// The restore options: plugin ConfigMap defaults, Restore labels on top, and the established knobs.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REVISION_OPTIONS,
  loadRevisionOptions,
  optionsFromConfigMapData,
  optionsWithRestoreLabels,
  restoreConfigMapSelector,
  restoreKnobs,
} from '../src/config.ts';
import { MemoryKube, restoreObject } from './actions/restore-test-kit.ts';

describe('plugin ConfigMap data -> options', () => {
  const cases: { data: Record<string, string>; expected?: object; error?: RegExp }[] = [
    { data: {}, expected: { missingRevisionPolicy: 'recreate', expandVirtualMachines: false } },
    { data: { 'missing-revision-policy': 'expand' }, expected: { missingRevisionPolicy: 'expand', expandVirtualMachines: false } },
    { data: { 'missing-revision-policy': ' Fail ' }, expected: { missingRevisionPolicy: 'fail', expandVirtualMachines: false } },
    { data: { 'expand-vms': 'TRUE' }, expected: { missingRevisionPolicy: 'recreate', expandVirtualMachines: true } },
    { data: { 'missing-revision-policy': 'ignore' }, error: /missing-revision-policy .* "ignore"; expected one of recreate, expand, fail/ },
    { data: { 'expand-vms': 'yes' }, error: /expand-vms .* "yes"; expected true or false/ },
    { data: { expandVms: 'true' }, error: /unknown key "expandVms"; known keys: missing-revision-policy, expand-vms/ },
  ];
  it.each(cases)('$data', ({ data, expected, error }) => {
    if (error) expect(() => optionsFromConfigMapData(data, 'velero/kv')).toThrow(error);
    else expect(optionsFromConfigMapData(data, 'velero/kv')).toEqual(expected);
  });
});

describe('Restore labels override the defaults', () => {
  const base = { missingRevisionPolicy: 'fail' as const, expandVirtualMachines: true };
  const cases: { labels: Record<string, string>; expected?: object; error?: RegExp }[] = [
    { labels: {}, expected: base },
    { labels: { 'velero.kubevirt.io/missing-revision-policy': 'recreate' }, expected: { ...base, missingRevisionPolicy: 'recreate' } },
    { labels: { 'velero.kubevirt.io/expand-vms': 'false' }, expected: { ...base, expandVirtualMachines: false } },
    { labels: { 'velero.kubevirt.io/missing-revision-policy': 'nope' }, error: /label velero.kubevirt.io\/missing-revision-policy on Restore r1 is "nope"/ },
  ];
  it.each(cases)('$labels', ({ labels, expected, error }) => {
    const restore = restoreObject('r1', { labels });
    if (error) expect(() => optionsWithRestoreLabels(base, restore)).toThrow(error);
    else expect(optionsWithRestoreLabels(base, restore)).toEqual(expected);
  });
});

describe('reading the ConfigMap', () => {
  const configMap = (name: string, data: Record<string, string>, labels: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'velero', labels },
    data,
  });
  const ours = { 'velero.io/plugin-config': '', 'kubevirt-velero-plugin/restore-vm-action': 'RestoreItemActionV2' };

  it('selects by both labels', () => {
    expect(restoreConfigMapSelector()).toBe('velero.io/plugin-config=,kubevirt-velero-plugin/restore-vm-action=RestoreItemActionV2');
  });

  it('uses built-in defaults without VELERO_NAMESPACE, and makes no call', async () => {
    const kube = new MemoryKube();
    expect(await loadRevisionOptions(kube, restoreObject('r'), undefined)).toEqual({ options: DEFAULT_REVISION_OPTIONS, configMap: undefined });
    expect(kube.calls).toEqual([]);
  });

  it('reads the one matching ConfigMap, ignores others, then applies Restore labels', async () => {
    const kube = new MemoryKube();
    kube.put(configMap('kv', { 'missing-revision-policy': 'fail', 'expand-vms': 'true' }, ours));
    kube.put(configMap('other-plugin', { 'missing-revision-policy': 'bogus' }, { 'velero.io/plugin-config': '' }));
    const restore = restoreObject('r', { labels: { 'velero.kubevirt.io/expand-vms': 'false' } });
    expect(await loadRevisionOptions(kube, restore, 'velero')).toEqual({
      options: { missingRevisionPolicy: 'fail', expandVirtualMachines: false },
      configMap: 'velero/kv',
    });
  });

  it('refuses two matching ConfigMaps', async () => {
    const kube = new MemoryKube();
    kube.put(configMap('a', {}, ours));
    kube.put(configMap('b', {}, ours));
    await expect(loadRevisionOptions(kube, restoreObject('r'), 'velero')).rejects.toThrow(
      /more than one plugin ConfigMap in namespace velero .*: a, b; keep exactly one/,
    );
  });
});

describe('established restore knobs (reference plugin labels)', () => {
  const cases: { labels: Record<string, string>; expected?: object; error?: RegExp }[] = [
    { labels: {}, expected: { clearMacAddress: false, generateNewFirmwareUuid: false } },
    { labels: { 'velero.kubevirt.io/restore-run-strategy': 'Halted' }, expected: { clearMacAddress: false, generateNewFirmwareUuid: false, runStrategy: 'Halted' } },
    { labels: { 'velero.kubevirt.io/restore-run-strategy': 'rerunonfailure' }, expected: { clearMacAddress: false, generateNewFirmwareUuid: false, runStrategy: 'RerunOnFailure' } },
    { labels: { 'velero.kubevirt.io/restore-run-strategy': 'Sometimes' }, error: /restore-run-strategy on Restore r is "Sometimes"; expected one of Always, RerunOnFailure, Manual, Halted, Once, WaitAsReceiver/ },
    // Presence enables, as in the reference plugin, whatever the value...
    { labels: { 'velero.kubevirt.io/clear-mac-address': '' }, expected: { clearMacAddress: true, generateNewFirmwareUuid: false } },
    { labels: { 'velero.kubevirt.io/generate-new-firmware-uuid': 'true' }, expected: { clearMacAddress: false, generateNewFirmwareUuid: true } },
    // ...except an explicit "false".
    { labels: { 'velero.kubevirt.io/clear-mac-address': 'false', 'velero.kubevirt.io/generate-new-firmware-uuid': 'False' }, expected: { clearMacAddress: false, generateNewFirmwareUuid: false } },
  ];
  it.each(cases)('$labels', ({ labels, expected, error }) => {
    const restore = restoreObject('r', { labels });
    if (error) expect(() => restoreKnobs(restore)).toThrow(error);
    else expect(restoreKnobs(restore)).toEqual(expected);
  });
});
