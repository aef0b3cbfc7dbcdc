// The API resources the plugin reads, looks up or names as additional items, with the names a user
// may write for them in a Backup's resource filters. A static table instead of API discovery: the
// plugin only ever asks about these few resources, and discovery would cost requests on every
// backup. Short names are those the real CRDs / built-in types declare (KubeVirt's virt-operator,
// CDI, external-snapshotter, Kubernetes core).

export interface ResourceInfo {
  group: string;
  /** The served version the plugin uses for API paths. */
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
}

function resource(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  shortNames: readonly string[] = [],
): ResourceInfo {
  return { group, version, kind, plural, singular: kind.toLowerCase(), shortNames, namespaced };
}

export const KNOWN_RESOURCES: readonly ResourceInfo[] = [
  resource('kubevirt.io', 'v1', 'VirtualMachine', 'virtualmachines', true, ['vm', 'vms']),
  resource('kubevirt.io', 'v1', 'VirtualMachineInstance', 'virtualmachineinstances', true, ['vmi', 'vmis']),
  resource('instancetype.kubevirt.io', 'v1beta1', 'VirtualMachineInstancetype', 'virtualmachineinstancetypes', true, [
    'vminstancetype',
    'vminstancetypes',
    'vmf',
    'vmfs',
  ]),
  resource(
    'instancetype.kubevirt.io',
    'v1beta1',
    'VirtualMachineClusterInstancetype',
    'virtualmachineclusterinstancetypes',
    false,
    ['vmclusterinstancetype', 'vmclusterinstancetypes', 'vmcf', 'vmcfs'],
  ),
  resource('instancetype.kubevirt.io', 'v1beta1', 'VirtualMachinePreference', 'virtualmachinepreferences', true, [
    'vmpref',
    'vmprefs',
    'vmp',
    'vmps',
  ]),
  resource('instancetype.kubevirt.io', 'v1beta1', 'VirtualMachineClusterPreference', 'virtualmachineclusterpreferences', false, [
    'vmcp',
    'vmcps',
  ]),
  resource('cdi.kubevirt.io', 'v1beta1', 'DataVolume', 'datavolumes', true, ['dv', 'dvs']),
  resource('apps', 'v1', 'ControllerRevision', 'controllerrevisions', true),
  resource('', 'v1', 'Pod', 'pods', true, ['po']),
  resource('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, ['pvc']),
  resource('', 'v1', 'PersistentVolume', 'persistentvolumes', false, ['pv']),
  resource('', 'v1', 'Secret', 'secrets', true),
  resource('', 'v1', 'ConfigMap', 'configmaps', true, ['cm']),
  resource('', 'v1', 'ServiceAccount', 'serviceaccounts', true, ['sa']),
  resource('', 'v1', 'Namespace', 'namespaces', false, ['ns']),
  resource('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshot', 'volumesnapshots', true, ['vs']),
  // Multus' CRD declares a hyphenated singular, unlike the kind.
  { ...resource('k8s.cni.cncf.io', 'v1', 'NetworkAttachmentDefinition', 'network-attachment-definitions', true, ['nad', 'net-attach-def']), singular: 'network-attachment-definition' },
];

/** "resource.group", or just "resource" for the core group: Velero's GroupResource.String(). */
export function groupResourceString(info: Pick<ResourceInfo, 'group' | 'plural'>): string {
  return info.group === '' ? info.plural : `${info.plural}.${info.group}`;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The known resource for an object's apiVersion and kind (the version itself may differ). */
export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const group = groupOf(apiVersion);
  return KNOWN_RESOURCES.find((r) => r.kind === kind && r.group === group);
}

export function resourceByPlural(group: string, plural: string): ResourceInfo | undefined {
  return KNOWN_RESOURCES.find((r) => r.plural === plural && r.group === group);
}
