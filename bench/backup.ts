// Backup benchmark against a real kube-apiserver (built by `npm run e2e:build`): a namespace of 1,000
// VMs made the way KubeVirt makes them (instance type + preference revisions, one PVC each), then the
// VM backup action run on every VM through the plugin's own KubeClient, as Velero would call it.
// Reported: API requests per VM (target <= 0.1 amortized) and Execute latency with look-ups served
// from the per-backup cache.
import { performance } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import { isBuilt } from '../e2e/harness/components.ts';
import { startControlPlane } from '../e2e/harness/control-plane.ts';
import { createNamespace, createVmLikeKubeVirt, instancetype, preference, virtualMachine } from '../e2e/fixtures/kubevirt.ts';
import { BackupVirtualMachineAction } from '../src/actions/backup-virtualmachine-action.ts';
import { silentLogger } from '../src/host/logger.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { Backup, KubeObject } from '../src/velero/types.ts';
import { inBatches } from './batches.ts';

const VMS = Number(process.env['BENCH_BACKUP_VMS'] ?? 1000);
const CONCURRENCY = 16;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const quiet = silentLogger;

export async function benchBackup(): Promise<Record<string, number | string>> {
  if (!isBuilt('kube-apiserver') || !isBuilt('etcd')) {
    return { status: 'blocked: kube-apiserver/etcd not built (run `npm run e2e:build`)' };
  }
  const cp = await startControlPlane();
  try {
    const ns = 'bench';
    await createNamespace(cp.kube, ns);
    await cp.kube.create(instancetype({ name: 'u1-medium', cpu: 2, memory: '4Gi' }));
    await cp.kube.create(preference({ name: 'fedora' }));
    const setupStart = performance.now();
    const vms: KubeObject[] = await inBatches(VMS, CONCURRENCY, async (i) => {
      await cp.kube.create({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: `vm-${i}-data`, namespace: ns },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
      const created = await createVmLikeKubeVirt(
        cp.kube,
        virtualMachine({
          name: `vm-${i}`,
          namespace: ns,
          instancetype: { name: 'u1-medium' },
          preference: { name: 'fedora' },
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `vm-${i}-data` } }],
        }),
      );
      return created.vm;
    });
    const setupSeconds = (performance.now() - setupStart) / 1000;

    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const client = new KubeClient({ kubeConfig: kc });
    const action = new BackupVirtualMachineAction(client);
    const backup: Backup = { apiVersion: 'velero.io/v1', kind: 'Backup', metadata: { name: 'bench', namespace: 'velero', uid: 'bench-backup-uid' }, spec: {} };
    const latencies: number[] = [];
    let items = 0;
    for (const vm of vms) {
      const started = performance.now();
      const out = await action.execute({ item: vm, backup, log: quiet });
      latencies.push(performance.now() - started);
      items += out.additionalItems?.length ?? 0;
    }
    const first = latencies[0] ?? NaN;
    const warm = latencies.slice(1).sort((a, b) => a - b);
    return {
      'VMs in the namespace': VMS,
      'setup (create VMs, revisions, PVCs) s': Number(setupSeconds.toFixed(1)),
      'additional items returned': items,
      'API requests total (GET + LIST pages)': client.counts.total,
      'API requests per VM (target <= 0.1)': Number((client.counts.total / VMS).toFixed(4)),
      'Execute, first VM (cold: LISTs) ms': Number(first.toFixed(2)),
      'Execute p50, look-ups from cache ms': Number(percentile(warm, 50).toFixed(3)),
      'Execute p99, look-ups from cache ms': Number(percentile(warm, 99).toFixed(3)),
    };
  } finally {
    await cp.stop();
  }
}
