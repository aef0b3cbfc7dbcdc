// Backup tarballs for inspect's tests, laid out as Velero writes them (metadata/version and
// resources/<resource.group>/namespaces/<ns>/<name>.json or .../cluster/<name>.json), archived by GNU
// tar in PAX format (what Go's archive/tar writes for long names) and gzipped.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringifyJson } from '../../src/shared/json.ts';
import type { KubeObject } from '../../src/velero/types.ts';

const RESOURCES: Record<string, string> = {
  VirtualMachine: 'virtualmachines.kubevirt.io',
  ControllerRevision: 'controllerrevisions.apps',
  VirtualMachineInstancetype: 'virtualmachineinstancetypes.instancetype.kubevirt.io',
  VirtualMachineClusterInstancetype: 'virtualmachineclusterinstancetypes.instancetype.kubevirt.io',
  VirtualMachinePreference: 'virtualmachinepreferences.instancetype.kubevirt.io',
  VirtualMachineClusterPreference: 'virtualmachineclusterpreferences.instancetype.kubevirt.io',
  DataVolume: 'datavolumes.cdi.kubevirt.io',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Secret: 'secrets',
  ConfigMap: 'configmaps',
  NetworkAttachmentDefinition: 'network-attachment-definitions.k8s.cni.cncf.io',
};

/** The path of an object inside a backup tarball. */
export function itemPath(obj: KubeObject): string {
  const resource = RESOURCES[obj.kind];
  if (resource === undefined) throw new Error(`no resource for kind ${obj.kind}`);
  const ns = obj.metadata.namespace;
  return ns ? `resources/${resource}/namespaces/${ns}/${obj.metadata.name ?? ''}.json` : `resources/${resource}/cluster/${obj.metadata.name ?? ''}.json`;
}

/** Writes a gzipped backup tarball of `objects` (plus any raw files) and returns its path. */
export function backupTarball(objects: readonly KubeObject[], extra: Record<string, string> = { 'metadata/version': '1\n' }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvp-inspect-'));
  const root = join(dir, 'root');
  const files: Record<string, string> = { ...extra };
  for (const obj of objects) files[itemPath(obj)] = stringifyJson(obj);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const out = join(dir, 'backup.tar.gz');
  execFileSync('tar', ['--format=pax', '-czf', out, '-C', root, ...Object.keys(files)]);
  return out;
}
