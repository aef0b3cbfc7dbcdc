// Test kit for the restore actions' glue: a fixed in-memory object store behind the KubeApi interface
// (architecture.md: "a test can hand a real API server's client or a fixed in-memory one") and a
// logger that records lines. API semantics themselves (409 on create, strategic merge patch, owner references,
// garbage collection) are exercised against a real kube-apiserver in e2e/restore*.test.ts.
import { KubeApiError } from '../../src/kube/errors.ts';
import type { KubeApi, ObjectKey, TypeKey } from '../../src/kube/api.ts';
import type { LogFields, Logger } from '../../src/velero/actions.ts';
import type { JsonObject, KubeObject, OwnerReference, Restore } from '../../src/velero/types.ts';

function keyOf(k: ObjectKey): string {
  return `${k.apiVersion}|${k.kind}|${k.namespace ?? ''}|${k.name}`;
}

export class MemoryKube implements KubeApi {
  readonly objects = new Map<string, KubeObject>();
  readonly calls: string[] = [];
  private uid = 0;

  put(obj: KubeObject): KubeObject {
    const stored = structuredClone(obj);
    stored.metadata.uid ??= `uid-${++this.uid}`;
    stored.metadata.resourceVersion = String(++this.uid);
    this.objects.set(keyOf({ ...obj, name: obj.metadata.name ?? '', ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) }), stored);
    return structuredClone(stored);
  }

  find(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(keyOf({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) }));
  }

  get(key: ObjectKey): Promise<KubeObject | undefined> {
    this.calls.push(`get ${key.kind} ${key.namespace ?? ''}/${key.name}`);
    const found = this.objects.get(keyOf(key));
    return Promise.resolve(found === undefined ? undefined : structuredClone(found));
  }

  list(type: TypeKey, options?: { labelSelector?: string }): Promise<KubeObject[]> {
    this.calls.push(`list ${type.kind} ${type.namespace ?? ''} ${options?.labelSelector ?? ''}`);
    // Only equality terms ("k=v", "k=") are supported: that is all the restore actions use.
    const terms = (options?.labelSelector ?? '').split(',').filter(Boolean).map((t) => t.split('=') as [string, string]);
    return Promise.resolve(
      [...this.objects.values()].filter(
        (o) =>
          o.apiVersion === type.apiVersion &&
          o.kind === type.kind &&
          (type.namespace === undefined || o.metadata.namespace === type.namespace) &&
          terms.every(([k, v]) => o.metadata.labels?.[k] === v),
      ),
    );
  }

  create(object: KubeObject): Promise<KubeObject> {
    this.calls.push(`create ${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`);
    const key = { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name ?? '', ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) };
    if (this.objects.has(keyOf(key))) {
      return Promise.reject(new KubeApiError(`${object.kind} ${object.metadata.name ?? ''} already exists`, 409));
    }
    return Promise.resolve(this.put(object));
  }

  /**
   * Only what the restore action sends: owner references, merged by uid as the API server's strategic
   * merge does, and refused (422) when two of them would be controllers, as its validation does.
   */
  strategicMergePatch(key: ObjectKey, patch: JsonObject): Promise<KubeObject> {
    this.calls.push(`strategic-patch ${key.kind} ${key.namespace ?? ''}/${key.name}`);
    const found = this.objects.get(keyOf(key));
    if (found === undefined) return Promise.reject(new KubeApiError(`${key.kind} ${key.name} not found`, 404));
    const added = ((patch['metadata'] as JsonObject | undefined)?.['ownerReferences'] ?? []) as unknown as OwnerReference[];
    const refs = [...(found.metadata.ownerReferences ?? [])];
    for (const ref of added) {
      const at = refs.findIndex((r) => r.uid === ref.uid);
      if (at >= 0) refs[at] = { ...refs[at], ...ref };
      else refs.push(ref);
    }
    if (refs.filter((r) => r.controller === true).length > 1) {
      return Promise.reject(new KubeApiError(`${key.kind} ${key.name}: Only one reference can have Controller set to true`, 422));
    }
    return Promise.resolve(this.put({ ...found, metadata: { ...found.metadata, ownerReferences: refs } }));
  }
}

export interface LogLine {
  level: string;
  message: string;
  fields: LogFields;
}

export function recordingLogger(lines: LogLine[] = [], bound: LogFields = {}): Logger & { lines: LogLine[] } {
  const at =
    (level: string) =>
    (message: string, fields: LogFields = {}): void => {
      lines.push({ level, message, fields: { ...bound, ...fields } });
    };
  return {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    with: (fields: LogFields) => recordingLogger(lines, { ...bound, ...fields }),
  };
}

export function restoreObject(
  name: string,
  options: { labels?: Record<string, string>; namespaceMapping?: Record<string, string> } = {},
): Restore {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name, namespace: 'velero', uid: `restore-uid-${name}`, ...(options.labels ? { labels: options.labels } : {}) },
    spec: { backupName: 'backup-1', ...(options.namespaceMapping ? { namespaceMapping: options.namespaceMapping } : {}) },
  };
}

// ---- KubeVirt-shaped objects, as KubeVirt and Velero produce them -------------------------------

/** A cluster instance type as the API returns it. */
export function clusterInstancetype(name: string, cpus: number, memory: string, generation = 1): KubeObject {
  return {
    apiVersion: 'instancetype.kubevirt.io/v1beta1',
    kind: 'VirtualMachineClusterInstancetype',
    metadata: {
      name,
      uid: `it-uid-${name}`,
      generation,
      resourceVersion: '100',
      labels: { 'instancetype.kubevirt.io/vendor': 'kubevirt.io' },
      annotations: { 'instancetype.kubevirt.io/description': 'test' },
      managedFields: [],
    },
    spec: { cpu: { guest: cpus }, memory: { guest: memory } },
  };
}

export function namespacedPreference(name: string, namespace: string): KubeObject {
  return {
    apiVersion: 'instancetype.kubevirt.io/v1beta1',
    kind: 'VirtualMachinePreference',
    metadata: { name, namespace, uid: `pref-uid-${name}`, generation: 2 },
    spec: { devices: { preferredDiskBus: 'virtio' } },
  };
}

/** The ControllerRevision KubeVirt stores for a VM's instance type / preference. */
export function kubevirtRevision(name: string, namespace: string, object: KubeObject, ownerUid?: string): KubeObject {
  const data = structuredClone(object);
  for (const k of ['labels', 'annotations', 'managedFields', 'ownerReferences', 'finalizers']) delete data.metadata[k];
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace,
      labels: {
        'instancetype.kubevirt.io/object-generation': String(object.metadata.generation ?? 0),
        'instancetype.kubevirt.io/object-kind': object.kind,
        'instancetype.kubevirt.io/object-name': object.metadata.name ?? '',
        'instancetype.kubevirt.io/object-uid': object.metadata.uid ?? '',
        'instancetype.kubevirt.io/object-version': 'v1beta1',
      },
      ...(ownerUid
        ? { ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: ownerUid, controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    data: data as unknown as JsonObject,
    revision: 0,
  };
}

export interface VmShape {
  name?: string;
  namespace?: string;
  instancetype?: { name: string; kind?: string; revisionName?: string };
  preference?: { name: string; kind?: string; revisionName?: string };
  /** KubeVirt >= 1.5: where the revisions are recorded. */
  status?: { instancetype?: string; preference?: string };
  annotations?: Record<string, string>;
}

/** A VM as stored in a backup (itemFromBackup: with status and uid). */
export function vmFromBackup(shape: VmShape): KubeObject {
  const name = shape.name ?? 'vm';
  const vm: KubeObject = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name,
      namespace: shape.namespace ?? 'src',
      uid: 'old-vm-uid',
      resourceVersion: '42',
      ...(shape.annotations ? { annotations: shape.annotations } : {}),
    },
    spec: {
      running: true,
      ...(shape.instancetype ? { instancetype: { ...shape.instancetype } } : {}),
      ...(shape.preference ? { preference: { ...shape.preference } } : {}),
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: [{ name: 'default', masquerade: {}, macAddress: '02:00:00:00:00:01' }],
              disks: [{ name: 'root', disk: {} }],
            },
          },
          networks: [{ name: 'default', pod: {} }],
          volumes: [
            { name: 'root', dataVolume: { name: `${name}-root` } },
            { name: 'ci', cloudInitNoCloud: { userDataSecretRef: { name: `${name}-ci` } } },
          ],
        },
      },
    },
    status: { printableStatus: 'Running' },
  };
  const status = vm['status'] as JsonObject;
  if (shape.status?.instancetype && shape.instancetype) {
    status['instancetypeRef'] = { name: shape.instancetype.name, kind: shape.instancetype.kind ?? 'VirtualMachineClusterInstancetype', controllerRevisionRef: { name: shape.status.instancetype } };
  }
  if (shape.status?.preference && shape.preference) {
    status['preferenceRef'] = { name: shape.preference.name, kind: shape.preference.kind ?? 'VirtualMachineClusterPreference', controllerRevisionRef: { name: shape.status.preference } };
  }
  return vm;
}

/** The item Velero hands to the action: status, uid, resourceVersion, ownerReferences removed. */
export function preparedByVelero(backedUp: KubeObject): KubeObject {
  const item = structuredClone(backedUp);
  delete item['status'];
  for (const k of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'ownerReferences', 'generateName']) delete item.metadata[k];
  return item;
}
