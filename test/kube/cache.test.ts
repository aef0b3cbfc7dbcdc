// The per-backup cache: how many API calls a sequence of look-ups costs, and what it answers.
import { describe, expect, it } from 'vitest';
import { ScopedKubeCache } from '../../src/kube/cache.ts';
import type { KubeApi } from '../../src/kube/api.ts';
import type { KubeObject } from '../../src/velero/types.ts';
import { FixedCluster } from '../fixtures/scenarios.ts';

function pvc(name: string, namespace = 'ns1'): KubeObject {
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace, uid: `uid-${name}` } };
}
const key = (name: string, namespace = 'ns1') => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name });

describe('per-backup cache', () => {
  it('100 look-ups of PVCs in one namespace cost one LIST', async () => {
    const cluster = new FixedCluster(Array.from({ length: 100 }, (_, i) => pvc(`disk-${i}`)));
    const cache = new ScopedKubeCache(cluster);
    for (let i = 0; i < 100; i++) expect((await cache.get(key(`disk-${i}`)))?.metadata.uid).toBe(`uid-disk-${i}`);
    expect(cluster.calls).toEqual({ get: 0, list: 1, create: 0, patch: 0 });
  });

  it('one LIST per namespace and kind', async () => {
    const cluster = new FixedCluster([pvc('a', 'ns1'), pvc('b', 'ns2')]);
    const cache = new ScopedKubeCache(cluster);
    await cache.get(key('a', 'ns1'));
    await cache.get(key('b', 'ns2'));
    await cache.get(key('a', 'ns1'));
    await cache.get({ apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', namespace: 'ns1', name: 'a' });
    expect(cluster.calls.list).toBe(3);
  });

  it('a name missing from the listing is confirmed with one GET, then remembered', async () => {
    const cluster = new FixedCluster([pvc('a')]);
    const cache = new ScopedKubeCache(cluster);
    expect(await cache.get(key('late'))).toBeUndefined();
    expect(await cache.get(key('late'))).toBeUndefined();
    expect(cluster.calls).toEqual({ get: 1, list: 1, create: 0, patch: 0 });
  });

  it('an object created after the LIST is found by the confirming GET', async () => {
    const cluster = new FixedCluster([pvc('a')]);
    const cache = new ScopedKubeCache(cluster);
    await cache.get(key('a'));
    cluster.objects.push(pvc('late'));
    expect((await cache.get(key('late')))?.metadata.uid).toBe('uid-late');
  });

  it('concurrent look-ups share one LIST', async () => {
    const cluster = new FixedCluster(Array.from({ length: 20 }, (_, i) => pvc(`d${i}`)));
    const cache = new ScopedKubeCache(cluster);
    await Promise.all(Array.from({ length: 20 }, (_, i) => cache.get(key(`d${i}`))));
    expect(cluster.calls.list).toBe(1);
  });

  it('a whole-namespace list() is served by the same LIST as get()', async () => {
    const cluster = new FixedCluster([pvc('a'), pvc('b')]);
    const cache = new ScopedKubeCache(cluster);
    await cache.get(key('a'));
    expect((await cache.list({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'ns1' })).length).toBe(2);
    expect(cluster.calls.list).toBe(1);
  });

  it('label-selected lists are cached per selector', async () => {
    const cluster = new FixedCluster([]);
    const cache = new ScopedKubeCache(cluster);
    const pods = { apiVersion: 'v1', kind: 'Pod', namespace: 'ns1' };
    await cache.list(pods, { labelSelector: 'kubevirt.io=virt-launcher' });
    await cache.list(pods, { labelSelector: 'kubevirt.io=virt-launcher' });
    await cache.list(pods, { labelSelector: 'app=x' });
    expect(cluster.calls.list).toBe(2);
  });

  it('secrets are never listed wholesale', async () => {
    const cluster = new FixedCluster([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns1' } }]);
    const cache = new ScopedKubeCache(cluster);
    await cache.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns1', name: 's' });
    expect(cluster.calls).toEqual({ get: 1, list: 0, create: 0, patch: 0 });
  });

  it('a failed LIST is not remembered', async () => {
    let failures = 1;
    const cluster = new FixedCluster([pvc('a')]);
    const flaky: KubeApi = {
      get: (k) => cluster.get(k),
      list: (t, o) => (failures-- > 0 ? Promise.reject(new Error('LIST persistentvolumeclaims: HTTP 503')) : cluster.list(t, o)),
      create: (o) => cluster.create(o),
      strategicMergePatch: (k, p) => cluster.strategicMergePatch(k, p),
    };
    const cache = new ScopedKubeCache(flaky);
    await expect(cache.get(key('a'))).rejects.toThrow('HTTP 503');
    expect((await cache.get(key('a')))?.metadata.name).toBe('a');
  });

  it('cached objects are frozen: a caller cannot corrupt what the next caller sees', async () => {
    const cache = new ScopedKubeCache(new FixedCluster([pvc('a')]));
    const object = await cache.get(key('a'));
    expect(() => {
      if (object) object.metadata.name = 'changed';
    }).toThrow(TypeError);
  });

  it('keeps objects without managedFields (nothing reads them; they are much of a listing) and everything else as it was', async () => {
    const withFields = (name: string): KubeObject => ({
      ...pvc(name),
      metadata: { ...pvc(name).metadata, labels: { a: 'b' }, managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } }] },
      spec: { storageClassName: 'x' },
    });
    const cache = new ScopedKubeCache(new FixedCluster([withFields('a'), withFields('b')]));
    const listed = await cache.get(key('a'));
    const alone = await cache.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns1', name: 'missing' });
    const selected = await cache.list({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'ns1' }, { labelSelector: 'a=b' });
    expect(alone).toBeUndefined();
    for (const object of [listed, ...selected]) {
      expect(object?.metadata.managedFields).toBeUndefined();
      expect(object?.metadata.labels).toEqual({ a: 'b' });
      expect(object?.['spec']).toEqual({ storageClassName: 'x' });
    }
    expect(selected).toHaveLength(2);
  });

  it('a write forgets the cached kind', async () => {
    const cluster = new FixedCluster([pvc('a')]);
    const cache = new ScopedKubeCache(cluster);
    await cache.get(key('a'));
    await cache.create(pvc('b'));
    expect((await cache.get(key('b')))?.metadata.name).toBe('b');
    expect(cluster.calls.list).toBe(2);
  });
});
