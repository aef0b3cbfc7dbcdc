// The related-items graph over the VM manifests of test/fixtures/vms/: which objects a VM backup
// carries as additional items, and which warnings it writes to the backup log.
import { describe, expect, it } from 'vitest';
import { readWorld } from '../../src/actions/backup-world.ts';
import { planVmLookups, vmBackupGraph } from '../../src/kubevirt/backup-graph.ts';
import type { ResourceIdentifier } from '../../src/velero/types.ts';
import { FixedCluster, loadScenario, type Scenario } from '../fixtures/scenarios.ts';

function show(id: ResourceIdentifier): string {
  return `${id.resource}${id.group ? `.${id.group}` : ''} ${id.namespace}/${id.name}`;
}

async function graphOf(scenario: Scenario) {
  const plan = planVmLookups(scenario.vm, { vmi: true, volumes: true });
  const world = await readWorld(new FixedCluster(scenario.cluster), plan, scenario.vm.metadata.namespace ?? '', 'test');
  return vmBackupGraph(scenario.vm, world);
}

interface Case {
  scenario: string;
  /** Change the scenario before the backup (delete an object, relabel...). */
  change?: (s: Scenario) => void;
  items: string[];
  /** Each expected warning is a substring of one warning, in order; [] means no warning at all. */
  warnings: string[];
}

const CR = 'controllerrevisions.apps';
const CASES: Record<string, Case> = {
  'KubeVirt >= 1.5, cluster kinds, stopped: objects, revisions from status, DV + PVC, cloud-init secrets': {
    scenario: 'v15-cluster-types-stopped',
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /u1.medium',
      `${CR} apps/fedora-web-u1.medium-v1beta1-3b0c1d52-7a8e-4f4c-a1b2-c3d4e5f60718-1`,
      'virtualmachineclusterpreferences.instancetype.kubevirt.io /fedora',
      `${CR} apps/fedora-web-fedora-v1beta1-9d8c7b6a-5f4e-4d3c-8b2a-190817263544-1`,
      'datavolumes.cdi.kubevirt.io apps/fedora-web-root',
      'persistentvolumeclaims apps/fedora-web-root',
      'secrets apps/fedora-web-userdata',
      'secrets apps/fedora-web-netdata',
    ],
    warnings: [],
  },
  'KubeVirt <= 1.4, namespaced kinds, running: revisions from spec, VMI, running launcher pod, every volume kind, credentials': {
    scenario: 'v14-namespaced-running',
    items: [
      'virtualmachineinstancetypes.instancetype.kubevirt.io prod/db-large',
      `${CR} prod/db-db-large-v1beta1-aaaaaaaa-0000-4000-8000-000000000001-2`,
      'virtualmachinepreferences.instancetype.kubevirt.io prod/rhel',
      `${CR} prod/db-rhel-v1beta1-bbbbbbbb-0000-4000-8000-000000000002-1`,
      'virtualmachineinstances.kubevirt.io prod/db',
      'pods prod/virt-launcher-db-x7k2p',
      'datavolumes.cdi.kubevirt.io prod/db-root',
      'persistentvolumeclaims prod/db-root',
      'persistentvolumeclaims prod/db-data',
      'configmaps prod/db-config',
      'secrets prod/db-tls',
      'serviceaccounts prod/db-agent',
      'secrets prod/db-userdata',
      'persistentvolumeclaims prod/db-memdump',
      'secrets prod/registry-pull',
      'secrets prod/db-ssh-keys',
      'secrets prod/db-passwords',
    ],
    warnings: [],
  },
  'paused VM: an empty matcher kind means the cluster kind; VMI and pod still go along': {
    scenario: 'v15-paused',
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /cx1.large',
      `${CR} jobs/batch-cx1.large-v1beta1-cccccccc-0000-4000-8000-000000000003-1`,
      'virtualmachineinstances.kubevirt.io jobs/batch',
      'pods jobs/virt-launcher-batch-abcde',
      'persistentvolumeclaims jobs/batch-root',
    ],
    warnings: [],
  },
  'persistent TPM/EFI: the backend-storage PVC labelled for this VM; ephemeral PVC; sysprep config map': {
    scenario: 'v15-persistent-tpm-efi',
    items: [
      'virtualmachineclusterpreferences.instancetype.kubevirt.io /windows.11',
      `${CR} desktops/win11-windows.11-v1beta1-dddddddd-0000-4000-8000-000000000004-3`,
      'persistentvolumeclaims desktops/win11-golden',
      'configmaps desktops/win11-unattend',
      'persistentvolumeclaims desktops/persistent-state-for-win11-7hx2v',
    ],
    warnings: [],
  },
  'persistent TPM/EFI before KubeVirt 1.4 (unlabelled PVC): the fixed backend-storage PVC name': {
    scenario: 'v15-persistent-tpm-efi',
    change: (s) => {
      s.cluster = s.cluster.filter((o) => o.metadata.name !== 'persistent-state-for-win11-7hx2v');
    },
    items: [
      'virtualmachineclusterpreferences.instancetype.kubevirt.io /windows.11',
      `${CR} desktops/win11-windows.11-v1beta1-dddddddd-0000-4000-8000-000000000004-3`,
      'persistentvolumeclaims desktops/win11-golden',
      'configmaps desktops/win11-unattend',
      'persistentvolumeclaims desktops/persistent-state-for-win11',
    ],
    warnings: [],
  },
  'missing revision and missing preference: left out, and the log says which VM lacks what': {
    scenario: 'v15-missing-revision',
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /u1.small',
      `${CR} apps/legacy-centos-v1beta1-ffffffff-0000-4000-8000-000000000006-1`,
    ],
    warnings: [
      'VM apps/legacy: ControllerRevision "legacy-u1.small-v1beta1-eeeeeeee-0000-4000-8000-000000000005-1" of VirtualMachineClusterInstancetype "u1.small" not found',
      'VM apps/legacy: VirtualMachinePreference "centos" not found; the backup does not contain it (the VM keeps its ControllerRevision copy)',
    ],
  },
  'pinned revision (spec and status name the same one): listed once': {
    scenario: 'v15-pinned-old-name',
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /u1.large',
      `${CR} apps/restored-u1.large-12121212-0000-4000-8000-000000000007-1`,
    ],
    warnings: [],
  },
  'spec pins one revision, status names another: both go along': {
    scenario: 'v15-pinned-old-name',
    change: (s) => {
      (s.vm['status'] as { instancetypeRef: { controllerRevisionRef: { name: string } } }).instancetypeRef.controllerRevisionRef.name =
        'restored-u1.large-v1beta1-12121212-0000-4000-8000-000000000007-4';
      s.cluster.push({
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: 'restored-u1.large-v1beta1-12121212-0000-4000-8000-000000000007-4', namespace: 'apps' },
        data: {},
      });
    },
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /u1.large',
      `${CR} apps/restored-u1.large-v1beta1-12121212-0000-4000-8000-000000000007-4`,
      `${CR} apps/restored-u1.large-12121212-0000-4000-8000-000000000007-1`,
    ],
    warnings: [],
  },
  'instance type not reconciled yet (no revision anywhere): a warning': {
    scenario: 'v15-cluster-types-stopped',
    change: (s) => {
      delete (s.vm['status'] as Record<string, unknown>)['instancetypeRef'];
    },
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /u1.medium',
      'virtualmachineclusterpreferences.instancetype.kubevirt.io /fedora',
      `${CR} apps/fedora-web-fedora-v1beta1-9d8c7b6a-5f4e-4d3c-8b2a-190817263544-1`,
      'datavolumes.cdi.kubevirt.io apps/fedora-web-root',
      'persistentvolumeclaims apps/fedora-web-root',
      'secrets apps/fedora-web-userdata',
      'secrets apps/fedora-web-netdata',
    ],
    warnings: ['VM apps/fedora-web: no ControllerRevision is recorded yet for VirtualMachineClusterInstancetype "u1.medium"'],
  },
  'status still names the revision of the previous instance type: not used, with a warning': {
    scenario: 'v15-paused',
    change: (s) => {
      (s.vm['spec'] as { instancetype: { name: string } }).instancetype.name = 'cx1.xlarge';
      s.cluster.push({ apiVersion: 'instancetype.kubevirt.io/v1beta1', kind: 'VirtualMachineClusterInstancetype', metadata: { name: 'cx1.xlarge' } });
    },
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /cx1.xlarge',
      'virtualmachineinstances.kubevirt.io jobs/batch',
      'pods jobs/virt-launcher-batch-abcde',
      'persistentvolumeclaims jobs/batch-root',
    ],
    warnings: [
      'VM jobs/batch: status names ControllerRevision "batch-cx1.large-v1beta1-cccccccc-0000-4000-8000-000000000003-1" for another instancetype than VirtualMachineClusterInstancetype "cx1.xlarge"',
      'VM jobs/batch: no ControllerRevision is recorded yet for VirtualMachineClusterInstancetype "cx1.xlarge"',
    ],
  },
  'unknown matcher kind: the object is skipped with a warning, its revision still goes along': {
    scenario: 'v15-paused',
    change: (s) => {
      (s.vm['spec'] as { instancetype: { kind: string } }).instancetype.kind = 'VirtualMachineFlavor';
    },
    items: [
      `${CR} jobs/batch-cx1.large-v1beta1-cccccccc-0000-4000-8000-000000000003-1`,
      'virtualmachineinstances.kubevirt.io jobs/batch',
      'pods jobs/virt-launcher-batch-abcde',
      'persistentvolumeclaims jobs/batch-root',
    ],
    warnings: ['spec.instancetype.kind "VirtualMachineFlavor" is not a kind KubeVirt knows'],
  },
  'plural, upper-case matcher kind is accepted like KubeVirt does': {
    scenario: 'v15-paused',
    change: (s) => {
      (s.vm['spec'] as { instancetype: { kind: string } }).instancetype.kind = 'VirtualMachineClusterInstancetypes';
    },
    items: [
      'virtualmachineclusterinstancetypes.instancetype.kubevirt.io /cx1.large',
      `${CR} jobs/batch-cx1.large-v1beta1-cccccccc-0000-4000-8000-000000000003-1`,
      'virtualmachineinstances.kubevirt.io jobs/batch',
      'pods jobs/virt-launcher-batch-abcde',
      'persistentvolumeclaims jobs/batch-root',
    ],
    warnings: [],
  },
  'stopped VM without instance type, inferFromVolume preference: volumes only, no warning': {
    scenario: 'plain-standalone-dv',
    items: [
      'datavolumes.cdi.kubevirt.io lab/plain-root',
      'persistentvolumeclaims lab/plain-root',
      'persistentvolumeclaims lab/plain-data',
    ],
    warnings: [],
  },
  'a volume naming an invalid object: left out with a warning': {
    scenario: 'plain-standalone-dv',
    change: (s) => {
      const volumes = (s.vm['spec'] as { template: { spec: { volumes: unknown[] } } }).template.spec.volumes;
      volumes.push({ name: 'evil', secret: { secretName: '../../etc' } });
    },
    items: [
      'datavolumes.cdi.kubevirt.io lab/plain-root',
      'persistentvolumeclaims lab/plain-root',
      'persistentvolumeclaims lab/plain-data',
    ],
    warnings: ['VM lab/plain: volume "evil" Secret "../../etc" is not a valid object name; it is left out'],
  },
  'Multus networks: a NAD by bare name (VM namespace), one by namespace/name (another namespace), a malformed name': {
    scenario: 'plain-standalone-dv',
    change: (s) => {
      const spec = (s.vm['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
      spec['networks'] = [
        { name: 'default', pod: {} },
        { name: 'storage', multus: { networkName: 'storage-net' } },
        { name: 'shared', multus: { networkName: 'infra/shared-vlan' } },
        { name: 'again', multus: { networkName: 'lab/storage-net' } },
        { name: 'broken', multus: { networkName: 'a/b/c' } },
      ];
    },
    items: [
      'datavolumes.cdi.kubevirt.io lab/plain-root',
      'persistentvolumeclaims lab/plain-root',
      'persistentvolumeclaims lab/plain-data',
      'network-attachment-definitions.k8s.cni.cncf.io lab/storage-net',
      'network-attachment-definitions.k8s.cni.cncf.io infra/shared-vlan',
    ],
    warnings: ['VM lab/plain: network "broken" has Multus networkName "a/b/c", which names no NetworkAttachmentDefinition validly'],
  },
};

describe('VM backup graph', () => {
  for (const [title, c] of Object.entries(CASES)) {
    it(title, async () => {
      const scenario = loadScenario(c.scenario);
      c.change?.(scenario);
      const graph = await graphOf(scenario);
      expect(graph.items.map(show)).toEqual(c.items);
      expect(graph.warnings).toHaveLength(c.warnings.length);
      c.warnings.forEach((w, i) => expect(graph.warnings[i]).toContain(w));
    });
  }
});
