// The host runtime, exercised through the built test binary exactly as Velero would call it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinnedRuntime } from '../../scripts/node-runtime.mjs';
import { parseJson, stringifyJson } from '../../src/shared/json.ts';
import { decodeOperationId } from '../../src/host/operation-id.ts';
import { StackType, StatusType } from '../../src/host/protos.ts';
import { type LaunchedPlugin, TEST_BINARY, hclogViolation, launch } from './emulator.ts';

const vm = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'vm1', namespace: 'ns1', annotations: { 'test/additional': 'cm1' } },
  spec: { template: { spec: { domain: { memory: { guest: '2Gi' } } } } },
};
const backup = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'b1', namespace: 'velero', uid: 'u1' } };
const restore = { apiVersion: 'velero.io/v1', kind: 'Restore', metadata: { name: 'r1', namespace: 'velero' } };
const bytes = (value: unknown) => Buffer.from(stringifyJson(value));

function decodeStatus(err: grpc.ServiceError): { code: number; message: string; stack: { frames: { file: string; line: number; function: string }[] } } {
  const raw = err.metadata.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(raw)) throw new Error('no grpc-status-details-bin trailer');
  const status = StatusType.toObject(StatusType.decode(raw)) as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
  const detail = status.details[0];
  expect(detail?.type_url).toBe('type.googleapis.com/generated.Stack');
  const stack = StackType.toObject(StackType.decode(detail!.value)) as { frames: { file: string; line: number; function: string }[] };
  return { code: status.code, message: status.message, stack };
}

describe('started without the go-plugin cookie (a person ran it)', () => {
  it('explains itself on stderr, prints nothing on stdout and exits 1', () => {
    const run = spawnSync(TEST_BINARY, [], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/Velero plugin and is not meant to be run directly/);
  });
});

describe('started with `version`', () => {
  it('names the Node runtime pinned in scripts/node-runtime.json, not the Node that ran the build', () => {
    const run = spawnSync(TEST_BINARY, ['version'], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`kubevirt-velero-plugin node v${pinnedRuntime().version} linux-x64\n`);
  });
});

describe.each(['velero-1.15+', 'velero-1.14'] as const)('launched like Velero (%s arguments)', (style) => {
  let plugin: LaunchedPlugin;
  beforeAll(async () => {
    plugin = await launch({ style, logLevel: 'debug' });
  });
  afterAll(async () => plugin.shutdown());

  it('prints exactly the handshake line on stdout, for a socket that exists', () => {
    expect(plugin.handshake).toMatch(/^1\|2\|unix\|\/.+\|grpc\|$/);
    expect(existsSync(plugin.socketPath)).toBe(true);
    expect(Buffer.byteLength(plugin.socketPath)).toBeLessThan(108);
  });

  it('lists every registered action with its kind and the launched command', async () => {
    const res = await plugin.call<{ plugins: { command: string; kind: string; name: string }[] }>('generated.PluginLister', 'ListPlugins', {});
    expect(res.plugins.every((p) => p.command === plugin.command)).toBe(true);
    expect(res.plugins.map((p) => `${p.kind} ${p.name}`).sort()).toEqual(
      [
        'BackupItemAction test.kubevirt.io/echo-backup',
        'BackupItemAction test.kubevirt.io/fail-backup',
        'BackupItemAction test.kubevirt.io/log-backup',
        'BackupItemAction test.kubevirt.io/panic-backup',
        'BackupItemAction test.kubevirt.io/slow-backup',
        'BackupItemActionV2 test.kubevirt.io/annotate-backup-v2',
        'RestoreItemAction test.kubevirt.io/echo-restore',
        'RestoreItemActionV2 test.kubevirt.io/restore-v2',
        // Velero <= 1.14 fails its whole start on a kind it does not know: not listed to it.
        ...(style === 'velero-1.14' ? [] : ['ItemBlockAction test.kubevirt.io/related-items']),
      ].sort(),
    );
  });

  it('logs only hclog-shaped lines on stderr', () => {
    const bad = plugin.stderrLines.filter((l) => l !== '' && hclogViolation(l) !== undefined);
    expect(bad).toEqual([]);
  });
});

describe('test-build switches for the listing (the product ignores them: product-binary.test.ts)', () => {
  const listed = async (options: Parameters<typeof launch>[0]) => {
    const plugin = await launch(options);
    try {
      const res = await plugin.call<{ plugins: { kind: string }[] }>('generated.PluginLister', 'ListPlugins', {});
      return [...new Set(res.plugins.map((p) => p.kind))].sort();
    } finally {
      await plugin.shutdown();
    }
  };

  it('KVP_TEST_LIST_UNKNOWN_KINDS=1 lists the ItemBlockAction to Velero <= 1.14 too', async () => {
    expect(await listed({ style: 'velero-1.14', env: { KVP_TEST_LIST_UNKNOWN_KINDS: '1' } })).toContain('ItemBlockAction');
  });

  it('KVP_TEST_WITHHOLD_KINDS leaves the named kinds out', async () => {
    expect(await listed({ env: { KVP_TEST_WITHHOLD_KINDS: 'ItemBlockAction,RestoreItemActionV2' } })).toEqual([
      'BackupItemAction',
      'BackupItemActionV2',
      'RestoreItemAction',
    ]);
  });
});

describe('item actions', () => {
  let plugin: LaunchedPlugin;
  beforeAll(async () => {
    plugin = await launch({ logLevel: 'debug' });
  });
  afterAll(async () => plugin.shutdown());

  it('answers AppliesTo with the action selector, v1 and v2', async () => {
    const v1 = await plugin.call('generated.BackupItemAction', 'AppliesTo', { plugin: 'test.kubevirt.io/echo-backup' });
    expect(v1['ResourceSelector']).toEqual({
      includedNamespaces: [],
      excludedNamespaces: ['kube-system'],
      includedResources: ['virtualmachines.kubevirt.io'],
      excludedResources: [],
      selector: '',
    });
    const v2 = await plugin.call('v2.BackupItemAction', 'AppliesTo', { plugin: 'test.kubevirt.io/annotate-backup-v2' });
    expect(v2['ResourceSelector']).toMatchObject({ includedResources: ['persistentvolumeclaims'], selector: 'app=db' });
    const r2 = await plugin.call('v2.RestoreItemAction', 'AppliesTo', { plugin: 'test.kubevirt.io/restore-v2' });
    expect(r2['ResourceSelector']).toMatchObject({ includedResources: ['virtualmachines'] });
  });

  it('returns an unchanged item semantically identical, int64 values beyond 2^53 included', async () => {
    const text =
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big","namespace":"ns1","generation":9007199254740993},' +
      '"data":{"a":"b"},"sizes":[18446744073709551615,-9223372036854775808,1.5,0,1e3,0.30000000000000004441]}';
    const res = await plugin.call<{ item: Buffer }>('generated.BackupItemAction', 'Execute', {
      plugin: 'test.kubevirt.io/echo-backup',
      item: Buffer.from(text),
      backup: bytes(backup),
    });
    expect(parseJson(res.item.toString())).toEqual(parseJson(text));
    expect(res.item.toString()).toContain('9007199254740993');
    expect(res.item.toString()).toContain('18446744073709551615');
    expect(res.item.toString()).toContain('0.30000000000000004441');
  });

  it('returns additional items', async () => {
    const res = await plugin.call<{ additionalItems: unknown[] }>('generated.BackupItemAction', 'Execute', {
      plugin: 'test.kubevirt.io/echo-backup',
      item: bytes(vm),
      backup: bytes(backup),
    });
    expect(res.additionalItems).toEqual([{ group: '', resource: 'configmaps', namespace: 'ns1', name: 'cm1' }]);
  });

  it('runs a v2 backup operation: operation ID, post-operation items, Progress and Cancel', async () => {
    const res = await plugin.call<{ item: Buffer; operationID: string; postOperationItems: unknown[] }>('v2.BackupItemAction', 'Execute', {
      plugin: 'test.kubevirt.io/annotate-backup-v2',
      item: bytes(vm),
      backup: bytes(backup),
    });
    expect((parseJson(res.item.toString()) as { metadata: { annotations: Record<string, string> } }).metadata.annotations['test/seen']).toBe('true');
    expect(decodeOperationId(res.operationID)).toMatchObject({ operation: 'test-op', namespace: 'ns1', name: 'vm1' });
    expect(res.postOperationItems).toHaveLength(1);
    const progress = await plugin.call<{ progress: Record<string, unknown> }>('v2.BackupItemAction', 'Progress', {
      plugin: 'test.kubevirt.io/annotate-backup-v2',
      operationID: res.operationID,
      backup: bytes(backup),
    });
    expect(progress.progress).toMatchObject({ completed: true, err: '', nCompleted: 1, nTotal: 1, operationUnits: 'items' });
    expect(progress.progress['started']).toBeTruthy();
    await expect(
      plugin.call('v2.BackupItemAction', 'Cancel', { plugin: 'test.kubevirt.io/annotate-backup-v2', operationID: res.operationID, backup: bytes(backup) }),
    ).resolves.toEqual({});
  });

  it('answers ItemBlockAction AppliesTo and GetRelatedItems', async () => {
    const applies = await plugin.call('v1.ItemBlockAction', 'AppliesTo', { plugin: 'test.kubevirt.io/related-items' });
    expect(applies['ResourceSelector']).toMatchObject({ includedResources: ['virtualmachines.kubevirt.io'], selector: '' });
    const withPod = { ...vm, metadata: { ...vm.metadata, annotations: { 'test/related-pod': 'virt-launcher-vm1-abcde' } } };
    const res = await plugin.call<{ relatedItems: unknown[] }>('v1.ItemBlockAction', 'GetRelatedItems', {
      plugin: 'test.kubevirt.io/related-items',
      item: bytes(withPod),
      backup: bytes(backup),
    });
    expect(res.relatedItems).toEqual([{ group: '', resource: 'pods', namespace: 'ns1', name: 'virt-launcher-vm1-abcde' }]);
    const none = await plugin.call<{ relatedItems: unknown[] }>('v1.ItemBlockAction', 'GetRelatedItems', {
      plugin: 'test.kubevirt.io/related-items',
      item: bytes(vm),
      backup: bytes(backup),
    });
    expect(none.relatedItems).toEqual([]);
    const refused = await plugin
      .call('v1.ItemBlockAction', 'GetRelatedItems', {
        plugin: 'test.kubevirt.io/related-items',
        item: bytes(vm),
        backup: bytes({ ...backup, metadata: { name: 'b2', namespace: 'velero' } }),
      })
      .catch((err: grpc.ServiceError) => err);
    expect(refused).toMatchObject({ code: grpc.status.UNKNOWN, details: expect.stringMatching(/b2 has no UID: test refusal/) });
    const wrongKind = await plugin
      .call('v1.ItemBlockAction', 'AppliesTo', { plugin: 'test.kubevirt.io/echo-backup' })
      .catch((err: grpc.ServiceError) => err);
    expect(wrongKind).toMatchObject({ details: expect.stringMatching(/registered as BackupItemAction, not ItemBlockAction/) });
  });

  it('fails Progress for an operation ID that is not the plugin\'s, with a clear error', async () => {
    const err = (await plugin
      .call('v2.BackupItemAction', 'Progress', { plugin: 'test.kubevirt.io/annotate-backup-v2', operationID: 'garbage', backup: bytes(backup) })
      .catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNKNOWN);
    expect(err.details).toMatch(/"garbage" is not one of this plugin's/);
  });

  it('restores with v1: skipRestore follows the item from the backup', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns1', labels: { 'test/skip': 'true' } } };
    const res = await plugin.call<{ skipRestore: boolean }>('generated.RestoreItemAction', 'Execute', {
      plugin: 'test.kubevirt.io/echo-restore',
      item: bytes(pod),
      itemFromBackup: bytes(pod),
      restore: bytes(restore),
    });
    expect(res.skipRestore).toBe(true);
  });

  it('restores with v2: operation, waiting for additional items with a timeout, readiness, and a filled Progress', async () => {
    const res = await plugin.call<Record<string, unknown>>('v2.RestoreItemAction', 'Execute', {
      plugin: 'test.kubevirt.io/restore-v2',
      item: bytes(vm),
      itemFromBackup: bytes(vm),
      restore: bytes(restore),
    });
    expect(res['operationID']).toBe('restore-op:ns/vm:1700000000000');
    expect(res['waitForAdditionalItems']).toBe(true);
    expect(res['additionalItemsReadyTimeout']).toEqual({ seconds: 90, nanos: 0 });
    expect(res['additionalItems']).toEqual([{ group: 'apps', resource: 'controllerrevisions', namespace: 'ns1', name: 'rev-1' }]);
    const progress = await plugin.call<{ progress: Record<string, unknown> }>('v2.RestoreItemAction', 'Progress', {
      plugin: 'test.kubevirt.io/restore-v2',
      operationID: 'restore-op:ns/vm:1700000000000',
      restore: bytes(restore),
    });
    // The action set neither started nor updated: the host fills both, since Velero needs them.
    expect(progress.progress).toMatchObject({ completed: false, nTotal: 2 });
    expect(progress.progress['started']).toHaveProperty('seconds');
    expect(progress.progress['updated']).toHaveProperty('seconds');
    const ready = await plugin.call('v2.RestoreItemAction', 'AreAdditionalItemsReady', {
      plugin: 'test.kubevirt.io/restore-v2',
      restore: bytes(restore),
      additionalItems: [{ group: 'apps', resource: 'controllerrevisions', namespace: 'ns1', name: 'rev-1' }],
    });
    expect(ready).toEqual({ ready: true });
    const notReady = await plugin.call('v2.RestoreItemAction', 'AreAdditionalItemsReady', {
      plugin: 'test.kubevirt.io/restore-v2',
      restore: bytes(restore),
      additionalItems: [{ group: '', resource: 'pods', namespace: 'ns1', name: 'x' }],
    });
    expect(notReady).toEqual({ ready: false });
  });
});

describe('errors travel as Velero expects', () => {
  let plugin: LaunchedPlugin;
  beforeAll(async () => {
    plugin = await launch();
  });
  afterAll(async () => plugin.shutdown());

  const execute = (name: string, item: Buffer, service = 'generated.BackupItemAction') =>
    plugin.call(service, 'Execute', { plugin: name, item, backup: bytes(backup) }).then(
      () => {
        throw new Error('expected an error');
      },
      (err: grpc.ServiceError) => err,
    );

  it('maps an action error to Unknown with its message and a generated.Stack detail', async () => {
    const err = await execute('test.kubevirt.io/fail-backup', bytes(vm));
    expect(err.code).toBe(grpc.status.UNKNOWN);
    expect(err.details).toBe('VirtualMachine ns1/vm1 cannot be backed up: test refusal');
    const status = decodeStatus(err);
    expect(status.code).toBe(grpc.status.UNKNOWN);
    expect(status.stack.frames.length).toBeGreaterThan(0);
    expect(status.stack.frames[0]?.line).toBeGreaterThan(0);
  });

  it('maps a programming error (the equivalent of a Go panic) to Aborted', async () => {
    const err = await execute('test.kubevirt.io/panic-backup', bytes(vm));
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.details).toMatch(/^TypeError: /);
    expect(decodeStatus(err).code).toBe(grpc.status.ABORTED);
  });

  it.each([
    ['invalid JSON', Buffer.from('{"kind": '), /item is not valid JSON/],
    ['an empty item', Buffer.alloc(0), /item is empty/],
    ['an item without kind', bytes({ apiVersion: 'v1', metadata: {} }), /item has no kind/],
    ['an item without apiVersion', bytes({ kind: 'Pod', metadata: {} }), /item has no apiVersion/],
    ['a JSON array', bytes([1, 2]), /item is not a JSON object/],
    ['metadata that is not an object', bytes({ apiVersion: 'v1', kind: 'Pod', metadata: 'x' }), /metadata is not an object/],
  ])('rejects %s with a clear error', async (_what, item, message) => {
    const err = await execute('test.kubevirt.io/echo-backup', item);
    expect(err.code).toBe(grpc.status.UNKNOWN);
    expect(err.details).toMatch(message);
  });

  it('names the known plugins when asked for an unknown one', async () => {
    const err = await execute('test.kubevirt.io/nope', bytes(vm));
    expect(err.details).toMatch(/unknown plugin name "test.kubevirt.io\/nope" for BackupItemAction; this binary serves: .*echo-backup/);
  });

  it('refuses a name registered under another kind', async () => {
    const err = await execute('test.kubevirt.io/echo-backup', bytes(vm), 'v2.BackupItemAction');
    expect(err.details).toMatch(/registered as BackupItemAction, not BackupItemActionV2/);
  });

  it('stays alive through all of it', () => {
    expect(plugin.isAlive()).toBe(true);
  });
});

describe('load and abuse', () => {
  let plugin: LaunchedPlugin;
  beforeAll(async () => {
    plugin = await launch();
  });
  afterAll(async () => plugin.shutdown());

  it('handles a 64 MB item', async () => {
    const big = { ...vm, data: { blob: 'x'.repeat(64 * 1024 * 1024) } };
    const res = await plugin.call<{ item: Buffer }>('generated.BackupItemAction', 'Execute', {
      plugin: 'test.kubevirt.io/echo-backup',
      item: bytes(big),
      backup: bytes(backup),
    });
    expect(res.item.length).toBeGreaterThan(64 * 1024 * 1024);
  });

  it('serves 64 concurrent Execute calls, each with its own answer', async () => {
    const calls = Array.from({ length: 64 }, (_, i) =>
      plugin.call<{ item: Buffer }>('generated.BackupItemAction', 'Execute', {
        plugin: 'test.kubevirt.io/slow-backup',
        item: bytes({ ...vm, metadata: { name: `vm${i}`, namespace: 'ns1', annotations: { 'test/sleep-ms': String(i % 7) } } }),
        backup: bytes(backup),
      }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => (parseJson(r.item.toString()) as { metadata: { name: string } }).metadata.name)).toEqual(
      Array.from({ length: 64 }, (_, i) => `vm${i}`),
    );
  });

  it('survives a client that disconnects in the middle of a call', async () => {
    const client = plugin.client('generated.BackupItemAction') as unknown as Record<string, (...a: unknown[]) => grpc.ClientUnaryCall>;
    const call = client['Execute']!.call(
      client,
      { plugin: 'test.kubevirt.io/slow-backup', item: bytes({ ...vm, metadata: { name: 'slow', annotations: { 'test/sleep-ms': '300' } } }), backup: bytes(backup) },
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 50));
    call.cancel();
    plugin.closeClients();
    await new Promise((r) => setTimeout(r, 400));
    expect(plugin.isAlive()).toBe(true);
    const res = await plugin.call<{ item: Buffer }>('generated.BackupItemAction', 'Execute', {
      plugin: 'test.kubevirt.io/echo-backup',
      item: bytes(vm),
      backup: bytes(backup),
    });
    expect(res.item.length).toBeGreaterThan(0);
  });

  it('does not grow without bound over repeated failing and succeeding calls', async () => {
    const round = async () => {
      for (let i = 0; i < 500; i++) {
        await Promise.all([
          plugin.call('generated.BackupItemAction', 'Execute', { plugin: 'test.kubevirt.io/echo-backup', item: bytes(vm), backup: bytes(backup) }),
          plugin.call('generated.BackupItemAction', 'Execute', { plugin: 'test.kubevirt.io/fail-backup', item: bytes(vm), backup: bytes(backup) }).catch(() => undefined),
          plugin.call('generated.BackupItemAction', 'Execute', { plugin: 'test.kubevirt.io/echo-backup', item: Buffer.from('{'), backup: bytes(backup) }).catch(() => undefined),
        ]);
      }
    };
    await round(); // warm up: JIT, buffers, the 64 MB item's garbage
    const before = plugin.rssKiB();
    await round();
    await round();
    const after = plugin.rssKiB();
    // A leak of even 10 KB per call would add 30 MB here; allocator noise stays far below that.
    expect(after - before).toBeLessThan(20 * 1024);
  });
});

describe('logging', () => {
  it('writes hclog lines with string fields, filtered by --log-level', async () => {
    const plugin = await launch({ logLevel: 'debug' });
    await plugin.call('generated.BackupItemAction', 'Execute', { plugin: 'test.kubevirt.io/log-backup', item: bytes(vm), backup: bytes(backup) });
    await plugin.shutdown();
    const lines = plugin.stderrLines.filter((l) => l !== '');
    expect(lines.filter((l) => hclogViolation(l) !== undefined)).toEqual([]);
    const logged = plugin.logLines().filter((l) => l['plugin'] === 'test.kubevirt.io/log-backup');
    expect(logged.map((l) => `${l['@level']} ${l['@message']}`)).toEqual(['debug debug line', 'info info line', 'warn warn line', 'error error line']);
    for (const line of logged) {
      expect(line).toMatchObject({ namespace: 'ns1', name: 'vm1', resource: 'VirtualMachine', backup: 'b1' });
      for (const value of Object.values(line)) expect(typeof value).toBe('string');
    }
    expect(logged.find((l) => l['@message'] === 'debug line')?.['count']).toBe('3');
  });

  it('logs nothing below info by default', async () => {
    const plugin = await launch({ logLevel: 'info' });
    await plugin.call('generated.BackupItemAction', 'Execute', { plugin: 'test.kubevirt.io/log-backup', item: bytes(vm), backup: bytes(backup) });
    await plugin.shutdown();
    const levels = plugin.logLines().map((l) => l['@level']);
    expect(levels).not.toContain('debug');
    expect(levels).not.toContain('trace');
    expect(levels).toContain('warn');
  });
});

describe('go-plugin services and lifecycle', () => {
  it('answers health checks for "plugin" and refuses unknown services', async () => {
    const plugin = await launch();
    await expect(plugin.call('grpc.health.v1.Health', 'Check', { service: 'plugin' })).resolves.toEqual({ status: 'SERVING' });
    const err = (await plugin.call('grpc.health.v1.Health', 'Check', { service: 'other' }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    await plugin.shutdown();
  });

  it('keeps the stdio stream and the broker stream open without data, and ends them on shutdown', async () => {
    const plugin = await launch();
    const stdio = (plugin.client('plugin.GRPCStdio') as unknown as { StreamStdio(req: unknown): grpc.ClientReadableStream<unknown> }).StreamStdio({});
    const received: unknown[] = [];
    stdio.on('data', (d) => received.push(d));
    const stdioEnded = new Promise<void>((resolve) => {
      stdio.on('end', () => resolve());
      stdio.on('error', () => resolve());
    });
    const broker = (plugin.client('plugin.GRPCBroker') as unknown as { StartStream(): grpc.ClientDuplexStream<unknown, unknown> }).StartStream();
    broker.on('error', () => undefined);
    broker.write({ service_id: 1, network: 'unix', address: '/nowhere' });
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([]);
    expect(plugin.isAlive()).toBe(true);
    await plugin.shutdown();
    await stdioEnded;
  });

  it('exits within 1 s of Shutdown and removes its socket', async () => {
    const plugin = await launch();
    const started = Date.now();
    await plugin.call('plugin.GRPCController', 'Shutdown', {});
    const code = await plugin.exited;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(code).toBe(0);
    expect(existsSync(plugin.socketPath)).toBe(false);
    plugin.closeClients();
  });

  it('ignores SIGINT like a Go plugin and exits cleanly on SIGTERM', async () => {
    const plugin = await launch();
    plugin.process.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 200));
    expect(plugin.isAlive()).toBe(true);
    await expect(plugin.call('grpc.health.v1.Health', 'Check', { service: 'plugin' })).resolves.toEqual({ status: 'SERVING' });
    plugin.process.kill('SIGTERM');
    expect(await plugin.exited).toBe(0);
    expect(existsSync(plugin.socketPath)).toBe(false);
    plugin.closeClients();
  });

  it('puts its socket under PLUGIN_UNIX_SOCKET_DIR when Velero sets it', async () => {
    const fs = await import('node:fs');
    const dir = fs.mkdtempSync('/tmp/kvp-sock-');
    const plugin = await launch({ env: { PLUGIN_UNIX_SOCKET_DIR: dir } });
    expect(plugin.socketPath.startsWith(`${dir}/plugin`)).toBe(true);
    await plugin.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes nothing on stdout after the handshake', async () => {
    const plugin = await launch({ logLevel: 'debug' });
    await plugin.call('generated.BackupItemAction', 'Execute', { plugin: 'test.kubevirt.io/log-backup', item: bytes(vm), backup: bytes(backup) });
    await plugin.shutdown();
    expect(plugin.stdoutAfterHandshake).toBe('');
  });
});
