// inspect's look-ups in the target cluster: what it asks for and how. Objects a VM mounts are only
// checked for existence, so they are read as metadata only (a Secret's data never reaches inspect);
// the real API server's side of this is checked in e2e/inspect.test.ts.
import { describe, expect, it } from 'vitest';
import type { KubeApi, KubeMetadataApi, ObjectKey } from '../../src/kube/api.ts';
import { readBackupTarball } from '../../src/inspect/backup-archive.ts';
import { readClusterFacts } from '../../src/inspect/target.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { backupTarball } from './tarballs.ts';

/** A target cluster holding `objects`, recording which read each look-up used. */
class RecordingCluster implements KubeApi, KubeMetadataApi {
  readonly reads: string[] = [];
  constructor(private readonly objects: KubeObject[]) {}

  private find(key: ObjectKey): KubeObject | undefined {
    return this.objects.find((o) => o.kind === key.kind && o.metadata.name === key.name && o.metadata.namespace === key.namespace);
  }
  get(key: ObjectKey): Promise<KubeObject | undefined> {
    this.reads.push(`get ${key.kind} ${key.name}`);
    return Promise.resolve(this.find(key));
  }
  getMetadata(key: ObjectKey): Promise<KubeObject | undefined> {
    this.reads.push(`metadata ${key.kind} ${key.name}`);
    const found = this.find(key);
    return Promise.resolve(found && { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: found.metadata });
  }
  list(): Promise<KubeObject[]> {
    return Promise.reject(new Error('inspect does not list'));
  }
  listMetadata(): Promise<KubeObject[]> {
    return Promise.reject(new Error('inspect does not list'));
  }
  create(): Promise<KubeObject> {
    return Promise.reject(new Error('inspect is read-only'));
  }
  strategicMergePatch(): Promise<KubeObject> {
    return Promise.reject(new Error('inspect is read-only'));
  }
}

const vm: KubeObject = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'vm1', namespace: 'apps' },
  spec: {
    instancetype: { name: 'small', kind: 'VirtualMachineClusterInstancetype' },
    template: {
      spec: {
        volumes: [
          { name: 'creds', secret: { secretName: 'creds' } },
          { name: 'cfg', configMap: { name: 'cfg' } },
          { name: 'disk', persistentVolumeClaim: { claimName: 'disk' } },
          { name: 'init', cloudInitNoCloud: { userDataSecretRef: { name: 'gone' } } },
        ],
      },
    },
  },
};

describe('inspect reading the target cluster', () => {
  it('checks mounted secrets, config maps and claims by their metadata only, and keeps full reads for what it evaluates', async () => {
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'apps' }, data: { password: 'c2VjcmV0' } };
    const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'apps' }, data: { a: 'b' } };
    const cluster = new RecordingCluster([secret, configMap, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } }]);
    const facts = await readClusterFacts(cluster, await readBackupTarball(backupTarball([vm])), {});

    expect(cluster.reads.filter((r) => /Secret|ConfigMap|PersistentVolumeClaim/.test(r)).sort()).toEqual([
      'metadata ConfigMap cfg',
      'metadata PersistentVolumeClaim disk',
      'metadata Secret creds',
      'metadata Secret gone',
    ]);
    // The instance type is compared with the backup's copy: that read stays whole.
    expect(cluster.reads).toContain('get VirtualMachineClusterInstancetype small');
    expect([...facts.volumes].sort()).toEqual(['configmaps|apps|cfg', 'secrets|apps|creds']);
    expect(facts.namespaces).toEqual(new Set(['apps']));
  });
});
