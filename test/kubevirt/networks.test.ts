// Multus network names and NetworkAttachmentDefinition configs under a restore's namespace mapping.
import { describe, expect, it } from 'vitest';
import { RestoreNadAction } from '../../src/actions/restore-nad-action.ts';
import { parseJson } from '../../src/shared/json.ts';
import { mappedNadReference, multusNetworks, nadWithMappedConfig, parseNetworkName, vmWithMappedNetworks } from '../../src/kubevirt/networks.ts';
import { instanceSpecItems } from '../../src/kubevirt/restore-graph.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { backupWith, recordingLogger } from '../fixtures/scenarios.ts';

const MAPPING = { apps: 'apps-restored', infra: 'infra-restored' };

describe('Multus networkName', () => {
  it.each([
    ['storage-net', { namespace: 'apps', name: 'storage-net' }],
    ['infra/shared-vlan', { namespace: 'infra', name: 'shared-vlan' }],
    ['a/b/c', undefined],
    ['/nad', undefined],
    ['infra/', undefined],
    ['Infra/nad', undefined],
    ['ns/nad@eth1', undefined],
    ['', undefined],
    [`${'x'.repeat(64)}/nad`, undefined],
  ])('%j in namespace apps -> %j', (written, expected) => {
    expect(parseNetworkName(written, 'apps')).toEqual(expected);
  });

  it('lists the Multus networks only, and the ones that name no NAD', () => {
    const spec = {
      networks: [
        { name: 'default', pod: {} },
        { name: 'a', multus: { networkName: 'nad-a' } },
        { name: 'b', multus: { networkName: 'infra/nad-b', default: true } },
        { name: 'c', multus: {} },
        { name: 'd', multus: { networkName: 7 } },
        'garbage',
      ],
    };
    expect(multusNetworks(spec, 'apps')).toEqual({
      refs: [
        { network: 'a', written: 'nad-a', namespace: 'apps', name: 'nad-a' },
        { network: 'b', written: 'infra/nad-b', namespace: 'infra', name: 'nad-b' },
      ],
      invalid: [
        { network: 'c', written: 'null' },
        { network: 'd', written: '7' },
      ],
    });
    expect(multusNetworks({ networks: 'nope' }, 'apps')).toEqual({ refs: [], invalid: [] });
    expect(multusNetworks(undefined, 'apps')).toEqual({ refs: [], invalid: [] });
  });

  it.each([
    ['infra/nad', 'infra-restored/nad'],
    ['apps/nad', 'apps-restored/nad'],
    ['other/nad', undefined],
    ['nad', undefined],
    ['a/b/c', undefined],
  ])('reference %j -> %j under the mapping', (reference, expected) => {
    expect(mappedNadReference(reference, MAPPING)).toBe(expected);
  });
});

function vmWithNetworks(networks: unknown[]): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'vm1', namespace: 'apps' },
    spec: { runStrategy: 'Always', template: { metadata: { labels: { a: 'b' } }, spec: { domain: {}, networks } } },
  };
}

describe('VM network names on restore', () => {
  it('maps namespace/name network names of mapped namespaces and changes nothing else', () => {
    const vm = vmWithNetworks([
      { name: 'default', pod: {} },
      { name: 'local', multus: { networkName: 'storage-net' } },
      { name: 'shared', multus: { networkName: 'infra/shared-vlan', default: false } },
      { name: 'elsewhere', multus: { networkName: 'other/x' } },
    ]);
    const before = structuredClone(vm);
    const { vm: mapped, changes } = vmWithMappedNetworks(vm, MAPPING);
    expect(changes).toEqual(['network "shared": infra/shared-vlan -> infra-restored/shared-vlan']);
    const expected = structuredClone(before);
    (expected['spec'] as { template: { spec: { networks: { multus?: { networkName: string } }[] } } }).template.spec.networks[2]!.multus!.networkName =
      'infra-restored/shared-vlan';
    expect(mapped).toEqual(expected);
    expect(vm).toEqual(before);
  });

  it('returns the very same VM when nothing is mapped', () => {
    const vm = vmWithNetworks([{ name: 'shared', multus: { networkName: 'infra/shared-vlan' } }]);
    expect(vmWithMappedNetworks(vm, undefined).vm).toBe(vm);
    expect(vmWithMappedNetworks(vm, { other: 'x' }).vm).toBe(vm);
    expect(vmWithMappedNetworks({ ...vm, spec: { template: 'x' } }, MAPPING).changes).toEqual([]);
  });

  it("asks Velero for the NADs as named in the backup; another namespace's only when the backup took it", () => {
    const spec = { networks: [{ name: 'a', multus: { networkName: 'nad-a' } }, { name: 'b', multus: { networkName: 'infra/nad-b' } }] };
    const nad = (namespace: string, name: string) => ({ group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', namespace, name });
    expect(instanceSpecItems(spec, 'apps')).toEqual([nad('apps', 'nad-a'), nad('infra', 'nad-b')]);
    expect(instanceSpecItems(spec, 'apps', backupWith({ includedNamespaces: ['apps', 'infra'] }))).toEqual([nad('apps', 'nad-a'), nad('infra', 'nad-b')]);
    expect(instanceSpecItems(spec, 'apps', backupWith({ includedNamespaces: ['apps'] }))).toEqual([nad('apps', 'nad-a')]);
    expect(instanceSpecItems(spec, 'apps', backupWith({ includedNamespaces: ['*'], excludedNamespaces: ['inf*'] }))).toEqual([nad('apps', 'nad-a')]);
    expect(instanceSpecItems(spec, 'apps', backupWith({}))).toEqual([nad('apps', 'nad-a'), nad('infra', 'nad-b')]);
  });
});

function nadWithConfig(config: unknown): KubeObject {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'shared-vlan', namespace: 'infra', annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'bridge.io/br1' } },
    spec: { config },
  };
}

describe('NAD spec.config on restore', () => {
  it('maps netAttachDefName of a mapped namespace; numbers beyond 2^53, key order and the rest stay', () => {
    const config = '{"cniVersion":"0.4.0","name":"shared","type":"ovn-k8s-cni-overlay","netAttachDefName":"infra/shared-vlan","mtu":1400,"big":9007199254740993}';
    const out = nadWithMappedConfig(nadWithConfig(config), MAPPING);
    expect(out.changes).toEqual(['netAttachDefName: infra/shared-vlan -> infra-restored/shared-vlan']);
    const text = (out.nad['spec'] as { config: string }).config;
    expect(text).toBe(config.replace('"infra/shared-vlan"', '"infra-restored/shared-vlan"'));
    expect(out.nad.metadata).toEqual(nadWithConfig(config).metadata);
  });

  it("maps the references in a conflist's plugins too", () => {
    const config = JSON.stringify({ cniVersion: '1.0.0', name: 'l', plugins: [{ type: 'bridge' }, { type: 'x', netAttachDefName: 'apps/l' }] });
    const out = nadWithMappedConfig(nadWithConfig(config), MAPPING);
    expect(out.changes).toEqual(['plugins[1].netAttachDefName: apps/l -> apps-restored/l']);
    expect(parseJson((out.nad['spec'] as { config: string }).config)).toEqual({
      cniVersion: '1.0.0',
      name: 'l',
      plugins: [{ type: 'bridge' }, { type: 'x', netAttachDefName: 'apps-restored/l' }],
    });
  });

  it.each([
    ['a reference to an unmapped namespace', '{"netAttachDefName":"other/x"}'],
    ['a bare name', '{"netAttachDefName":"x"}'],
    ['no reference', '{"type":"bridge","bridge":"br1"}'],
    ['an empty config', ''],
  ])('leaves the NAD as it is with %s', (_what, config) => {
    const nad = nadWithConfig(config);
    expect(nadWithMappedConfig(nad, MAPPING)).toEqual({ nad, changes: [] });
  });

  it.each([
    ['malformed JSON', '{"netAttachDefName": "infra/x",', /not valid JSON/],
    ['a JSON array', '["infra/x"]', /not a JSON object/],
  ])('restores a NAD with %s unchanged, with a warning (never a crash)', async (_what, config, warning) => {
    const nad = nadWithConfig(config);
    const out = nadWithMappedConfig(nad, MAPPING);
    expect(out.nad).toBe(nad);
    expect(out.warning).toMatch(warning);
    const log = recordingLogger();
    const restored = await new RestoreNadAction().execute({
      item: nad,
      itemFromBackup: nad,
      restore: { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r' }, spec: { namespaceMapping: MAPPING } },
      log,
    });
    expect(restored.item).toEqual(nad);
    expect(log.lines).toEqual([{ level: 'warn', message: expect.stringMatching(/^NetworkAttachmentDefinition infra\/shared-vlan: spec.config is not/) }]);
  });

  it('the restore action applies to NADs, says what it mapped, and changes nothing without a mapping', async () => {
    const action = new RestoreNadAction();
    expect(action.appliesTo()).toEqual({ includedResources: ['network-attachment-definitions.k8s.cni.cncf.io'] });
    const nad = nadWithConfig('{"netAttachDefName":"infra/shared-vlan"}');
    const log = recordingLogger();
    const out = await action.execute({ item: nad, itemFromBackup: nad, restore: { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: {}, spec: { namespaceMapping: MAPPING } }, log });
    expect((out.item['spec'] as { config: string }).config).toBe('{"netAttachDefName":"infra-restored/shared-vlan"}');
    expect(log.lines[0]?.message).toContain('infra/shared-vlan -> infra-restored/shared-vlan');
    const plain = await action.execute({ item: nad, itemFromBackup: nad, restore: { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: {} }, log });
    expect(plain.item).toBe(nad);
  });
});
