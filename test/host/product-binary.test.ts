// The product binary (dist/) offers exactly the reference plugin's action names, so it can replace it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('loads the Kubernetes client on its first API request without writing anything but hclog lines (no runtime deprecation warnings)', async () => {
    // Its own process: the client library is loaded once per process, on the first API request.
    const dir = mkdtempSync(join(tmpdir(), 'kvp-product-'));
    const kubeconfig = join(dir, 'kubeconfig');
    // Port 1 is never served here: the request fails at once, after the library has loaded.
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'unused' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
    const withApi = await launch({ binary: PRODUCT_BINARY, env: { KUBECONFIG: kubeconfig } });
    try {
      const vm = { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm1', namespace: 'ns1', uid: 'u1' }, spec: { instancetype: { name: 'it1' }, template: { spec: {} } } };
      const backup = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b', namespace: 'velero', uid: 'b1' }, spec: {} };
      const outcome = await withApi.call('generated.BackupItemAction', 'Execute', {
        plugin: 'kubevirt-velero-plugin/backup-virtualmachine-action',
        item: Buffer.from(JSON.stringify(vm)),
        backup: Buffer.from(JSON.stringify(backup)),
      }).then(() => 'answered', (err: unknown) => String(err));
      // It did try the API (and says which VM could not be looked up).
      expect(outcome).toMatch(/127\.0\.0\.1:1|ECONNREFUSED|vm1/);
    } finally {
      await withApi.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
    // The plugin turns stray stderr text into hclog error lines, and Velero counts each as an error of
    // the backup (which then ends PartiallyFailed): Node's runtime warnings must not appear at all.
    expect(withApi.stderrLines.filter((l) => l !== '' && hclogViolation(l) !== undefined)).toEqual([]);
    expect(withApi.stderrLines.filter((l) => /"@level":"(error|warn)"|Warning/.test(l))).toEqual([]);
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
