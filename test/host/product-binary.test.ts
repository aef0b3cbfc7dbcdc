// The product binary (dist/) offers exactly the reference plugin's action names, so it can replace it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionNames } from '../../src/kubevirt/constants.ts';
import { type LaunchedPlugin, PRODUCT_BINARY, hclogViolation, launch } from './emulator.ts';

describe('the product binary', () => {
  let plugin: LaunchedPlugin;
  beforeAll(async () => {
    // No cluster credentials at all: listing plugins must not need the API server.
    // The test builds' switches are set too: the product must ignore them.
    plugin = await launch({
      binary: PRODUCT_BINARY,
      env: { KUBECONFIG: '/nonexistent/kubeconfig', KVP_TEST_WITHHOLD_KINDS: 'ItemBlockAction,RestoreItemAction' },
    });
  });
  afterAll(async () => plugin.shutdown());

  it('lists the reference plugin names with their kinds', async () => {
    const res = await plugin.call<{ plugins: { command: string; kind: string; name: string }[] }>('generated.PluginLister', 'ListPlugins', {});
    expect(res.plugins.map((p) => `${p.kind} ${p.name}`).sort()).toEqual(
      [
        'BackupItemAction kubevirt-velero-plugin/backup-virtualmachine-action',
        'BackupItemAction kubevirt-velero-plugin/backup-virtualmachineinstance-action',
        'BackupItemAction kubevirt-velero-plugin/backup-datavolume-action',
        'BackupItemAction kubevirt-velero-plugin/backup-pvc-action',
        'BackupItemAction kubevirt-velero-plugin/backup-volumesnapshot-action',
        'RestoreItemActionV2 kubevirt-velero-plugin/restore-vm-action',
        'RestoreItemAction kubevirt-velero-plugin/restore-vmi-action',
        'RestoreItemAction kubevirt-velero-plugin/restore-pod-action',
        'RestoreItemAction kubevirt-velero-plugin/restore-pvc-action',
        'RestoreItemAction kubevirt-velero-plugin/restore-volumesnapshot-action',
        'RestoreItemAction kubevirt-velero-plugin/restore-networkattachmentdefinition-action',
        'ItemBlockAction kubevirt-velero-plugin/block-vm-action',
        'RestoreItemAction kubevirt-velero-plugin/restore-controllerrevision-action',
      ].sort(),
    );
    expect(res.plugins.every((p) => p.command === PRODUCT_BINARY)).toBe(true);
  });

  it('answers AppliesTo for every action without cluster access', async () => {
    const res = await plugin.call<{ plugins: { kind: string; name: string }[] }>('generated.PluginLister', 'ListPlugins', {});
    for (const { kind, name } of res.plugins) {
      const service = {
        BackupItemAction: 'generated.BackupItemAction',
        RestoreItemAction: 'generated.RestoreItemAction',
        RestoreItemActionV2: 'v2.RestoreItemAction',
        ItemBlockAction: 'v1.ItemBlockAction',
      }[kind];
      const answer = await plugin.call<{ ResourceSelector: { includedResources: string[] } }>(service!, 'AppliesTo', { plugin: name });
      expect(answer.ResourceSelector.includedResources.length, name).toBeGreaterThan(0);
    }
    expect(plugin.stderrLines.filter((l) => l !== '' && hclogViolation(l) !== undefined)).toEqual([]);
  });
});

describe('the product binary launched by Velero <= 1.14 (told by its plugin arguments)', () => {
  it('does not list the ItemBlockAction that Velero does not know, even when a test build would', async () => {
    const plugin = await launch({ binary: PRODUCT_BINARY, style: 'velero-1.14', env: { KVP_TEST_LIST_UNKNOWN_KINDS: '1' } });
    try {
      const res = await plugin.call<{ plugins: { kind: string; name: string }[] }>('generated.PluginLister', 'ListPlugins', {});
      expect(res.plugins.map((p) => p.name).sort()).toEqual(Object.values(ActionNames).filter((n) => n !== ActionNames.blockVm).sort());
      expect(res.plugins.some((p) => p.kind === 'ItemBlockAction')).toBe(false);
    } finally {
      await plugin.shutdown();
    }
  });
});
