// The test build of the plugin binary (`npm run build:test` -> dist-test/). It goes through the same
// host runtime and packaging as the product but registers test actions whose behaviour the host tests
// can predict. Nothing here ships in the product binary.
// First, as in the product: V8 heap settings apply before the other modules allocate.
import '../../src/host/heap-tuning.ts';
import { runFromCommandLine } from '../../src/host/entry.ts';
import { PluginError } from '../../src/host/errors.ts';
import { runInstall } from '../../src/host/install.ts';
import { decodeOperationId, encodeOperationId } from '../../src/host/operation-id.ts';
import { PluginHost } from '../../src/host/plugin-host.ts';
import type { KubeObject } from '../../src/velero/types.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function annotation(item: KubeObject, key: string): string | undefined {
  return item.metadata.annotations?.[key];
}

const plugin = new PluginHost()
  .backupItemAction('test.kubevirt.io/echo-backup', () => ({
    appliesTo: () => ({ includedResources: ['virtualmachines.kubevirt.io'], excludedNamespaces: ['kube-system'] }),
    // Echoes the item; asks for the config map named in test/additional, if any.
    execute: async ({ item }) => {
      const extra = annotation(item, 'test/additional');
      return {
        item,
        additionalItems: extra
          ? [{ group: '', resource: 'configmaps', namespace: item.metadata.namespace ?? '', name: extra }]
          : [],
      };
    },
  }))
  .backupItemAction('test.kubevirt.io/slow-backup', () => ({
    appliesTo: () => ({}),
    execute: async ({ item }) => {
      await sleep(Number(annotation(item, 'test/sleep-ms') ?? '0'));
      return { item };
    },
  }))
  .backupItemAction('test.kubevirt.io/fail-backup', () => ({
    appliesTo: () => ({}),
    execute: async ({ item }) => {
      throw new PluginError(`VirtualMachine ${item.metadata.namespace}/${item.metadata.name} cannot be backed up: test refusal`);
    },
  }))
  .backupItemAction('test.kubevirt.io/panic-backup', () => ({
    appliesTo: () => ({}),
    execute: async ({ item }) => {
      const missing = (item as unknown as { nothing?: { here: string } }).nothing;
      return { item: { ...item, broken: missing!.here } };
    },
  }))
  .backupItemAction('test.kubevirt.io/log-backup', () => ({
    appliesTo: () => ({}),
    execute: async ({ item, log }) => {
      log.trace('trace line', { detail: 'deep' });
      log.debug('debug line', { count: 3 });
      log.info('info line', { flag: true });
      log.warn('warn line');
      log.error('error line');
      return { item };
    },
  }))
  .backupItemActionV2('test.kubevirt.io/annotate-backup-v2', () => ({
    appliesTo: () => ({ includedResources: ['persistentvolumeclaims'], selector: 'app=db' }),
    execute: async ({ item }) => {
      const annotated = {
        ...item,
        metadata: { ...item.metadata, annotations: { ...item.metadata.annotations, 'test/seen': 'true' } },
      };
      const operationId = encodeOperationId({
        operation: 'test-op',
        namespace: item.metadata.namespace ?? '',
        name: item.metadata.name ?? 'unnamed',
        started: new Date(),
      });
      return {
        item: annotated,
        operationId,
        postOperationItems: [{ group: '', resource: 'persistentvolumeclaims', namespace: 'ns', name: 'after' }],
      };
    },
    progress: async (operationId) => {
      const ref = decodeOperationId(operationId);
      if (!ref) throw new PluginError(`operation ID "${operationId}" is not one of this plugin's`);
      return {
        completed: true,
        err: '',
        nCompleted: 1,
        nTotal: 1,
        operationUnits: 'items',
        description: `${ref.operation} on ${ref.namespace}/${ref.name}`,
        started: ref.started,
        updated: new Date(),
      };
    },
    cancel: async (operationId, _backup, log) => {
      log.info(`cancelled ${operationId}`);
    },
  }))
  .restoreItemAction('test.kubevirt.io/echo-restore', () => ({
    appliesTo: () => ({ includedResources: ['pods'] }),
    execute: async ({ item, itemFromBackup }) => ({
      item,
      skipRestore: itemFromBackup.metadata.labels?.['test/skip'] === 'true',
    }),
  }))
  .restoreItemActionV2('test.kubevirt.io/restore-v2', () => ({
    appliesTo: () => ({ includedResources: ['virtualmachines'] }),
    execute: async ({ item, restore }) => ({
      item: { ...item, metadata: { ...item.metadata, labels: { ...item.metadata.labels, 'test/restore': restore.metadata.name ?? '' } } },
      additionalItems: [{ group: 'apps', resource: 'controllerrevisions', namespace: item.metadata.namespace ?? '', name: 'rev-1' }],
      operationId: 'restore-op:ns/vm:1700000000000',
      waitForAdditionalItems: true,
      additionalItemsReadyTimeoutSeconds: 90,
    }),
    progress: async (operationId) => ({
      completed: false,
      err: '',
      nCompleted: 0,
      nTotal: 2,
      operationUnits: 'revisions',
      description: `waiting: ${operationId}`,
    }),
    areAdditionalItemsReady: async (items) => items.every((i) => i.name.startsWith('rev-')),
  }))
  .itemBlockAction('test.kubevirt.io/related-items', () => ({
    appliesTo: () => ({ includedResources: ['virtualmachines.kubevirt.io'] }),
    // The pod named in test/related-pod, if any; a backup without a UID is refused.
    getRelatedItems: async ({ item, backup }) => {
      if (!backup.metadata.uid) throw new PluginError(`backup ${backup.metadata.name ?? ''} has no UID: test refusal`);
      const pod = annotation(item, 'test/related-pod');
      return pod ? [{ group: '', resource: 'pods', namespace: item.metadata.namespace ?? '', name: pod }] : [];
    },
  }));

runFromCommandLine(plugin, { install: runInstall });
