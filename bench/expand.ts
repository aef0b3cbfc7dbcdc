// Expansion throughput for a typical VM: a Fedora VM with a data volume, cloud-init and the pod
// network, using u1.medium-style and fedora-style definitions taken from ControllerRevisions (the
// restore path). Target: >= 20,000 expansions/s on one core.
import { expandVirtualMachine, KUBEVIRT_VERSION } from '../src/kubevirt/expand/index.ts';
import type { KubeObject } from '../src/velero/types.ts';

const group = 'instancetype.kubevirt.io/v1beta1';

function typicalVM(): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'fedora-1', namespace: 'apps', uid: '3c1e8d4e-6a57-4a1b-9d35-2f1e0b0c9a11', labels: { app: 'web' }, resourceVersion: '123456', generation: 3 },
    spec: {
      runStrategy: 'Always',
      instancetype: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.medium' },
      preference: { kind: 'VirtualMachineClusterPreference', name: 'fedora' },
      dataVolumeTemplates: [
        {
          metadata: { name: 'fedora-1-root' },
          spec: { sourceRef: { kind: 'DataSource', name: 'fedora', namespace: 'kubevirt-os-images' }, storage: { resources: { requests: { storage: '30Gi' } } } },
        },
      ],
      template: {
        metadata: { labels: { 'kubevirt.io/domain': 'fedora-1' } },
        spec: {
          domain: { devices: { disks: [{ name: 'rootdisk' }, { name: 'cloudinitdisk' }], interfaces: [{ name: 'default', masquerade: {} }] } },
          networks: [{ name: 'default', pod: {} }],
          volumes: [
            { name: 'rootdisk', dataVolume: { name: 'fedora-1-root' } },
            { name: 'cloudinitdisk', cloudInitNoCloud: { userData: '#cloud-config\nuser: fedora\npassword: fedora\nchpasswd: { expire: False }\n' } },
          ],
        },
      },
    },
    status: {
      printableStatus: 'Running',
      instancetypeRef: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.medium', controllerRevisionRef: { name: 'fedora-1-u1.medium-v1beta1-1a2b-1' } },
      preferenceRef: { kind: 'VirtualMachineClusterPreference', name: 'fedora', controllerRevisionRef: { name: 'fedora-1-fedora-v1beta1-3c4d-1' } },
    },
  };
}

const instancetypeRevision = {
  apiVersion: 'apps/v1',
  kind: 'ControllerRevision',
  metadata: { name: 'fedora-1-u1.medium-v1beta1-1a2b-1', namespace: 'apps' },
  revision: 0,
  data: { apiVersion: group, kind: 'VirtualMachineClusterInstancetype', metadata: { name: 'u1.medium' }, spec: { cpu: { guest: 1 }, memory: { guest: '4Gi' } } },
};

const preferenceRevision = {
  apiVersion: 'apps/v1',
  kind: 'ControllerRevision',
  metadata: { name: 'fedora-1-fedora-v1beta1-3c4d-1', namespace: 'apps' },
  revision: 0,
  data: {
    apiVersion: group,
    kind: 'VirtualMachineClusterPreference',
    metadata: { name: 'fedora' },
    spec: {
      annotations: { 'vm.kubevirt.io/os': 'linux' },
      devices: { preferredDiskBus: 'virtio', preferredInterfaceModel: 'virtio', preferredRng: {}, preferredNetworkInterfaceMultiQueue: true },
      features: { preferredSmm: {} },
      firmware: { preferredEfi: { secureBoot: true } },
      requirements: { cpu: { guest: 1 }, memory: { guest: '2Gi' } },
    },
  },
};

export function benchExpand(): Promise<Record<string, number | string>> {
  const vm = typicalVM();
  const check = expandVirtualMachine(vm, instancetypeRevision, preferenceRevision);
  if (!check.ok) throw new Error(`benchmark VM does not expand: ${JSON.stringify(check.conflicts)}`);
  // Warm up the JIT, then measure for about a second.
  for (let i = 0; i < 5_000; i++) expandVirtualMachine(vm, instancetypeRevision, preferenceRevision);
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = 1_000_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 1_000; i++) expandVirtualMachine(vm, instancetypeRevision, preferenceRevision);
    n += 1_000;
    elapsed = process.hrtime.bigint() - start;
  }
  const seconds = Number(elapsed) / 1e9;
  return Promise.resolve({
    'expand.kubevirt_version': KUBEVIRT_VERSION,
    'expand.typical_vm_per_second': Math.round(n / seconds),
    'expand.typical_vm_microseconds': Number(((seconds / n) * 1e6).toFixed(2)),
    'expand.target_per_second': 20_000,
  });
}

// `node --import tsx bench/expand.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  void benchExpand().then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
}
