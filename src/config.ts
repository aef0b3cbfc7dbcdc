// Restore options: defaults from a Velero plugin ConfigMap, overridden per restore by labels on the
// Restore. Velero's own convention for plugin configuration is a ConfigMap in Velero's namespace labelled
// `velero.io/plugin-config: ""` and `<plugin name>: <plugin kind>`; we read it ourselves because Velero
// does not hand it to plugins.
//
// Every key and label is documented in docs/restore.md.
import type { KubeApi } from './kube/api.ts';
import { ActionNames, UserLabels } from './kubevirt/constants.ts';
import type { KubeObject, Restore } from './velero/types.ts';

export type MissingRevisionPolicy = 'recreate' | 'expand' | 'fail';
export const MISSING_REVISION_POLICIES: readonly MissingRevisionPolicy[] = ['recreate', 'expand', 'fail'];

/** Where a restore's behaviour comes from; also what a ConfigMap key maps to. */
export interface RevisionOptions {
  /** What to do with a revision the VM references that is neither restored nor in the cluster. */
  missingRevisionPolicy: MissingRevisionPolicy;
  /** Inline instance type and preference into every restored VM that uses them. */
  expandVirtualMachines: boolean;
}

export const DEFAULT_REVISION_OPTIONS: RevisionOptions = {
  missingRevisionPolicy: 'recreate',
  expandVirtualMachines: false,
};

/** Labels on a Restore that override the ConfigMap for that restore. */
export const RestoreOptionLabels = {
  missingRevisionPolicy: 'velero.kubevirt.io/missing-revision-policy',
  expandVirtualMachines: 'velero.kubevirt.io/expand-vms',
} as const;

/** The ConfigMap's data keys: the label names without their prefix. */
export const ConfigMapKeys = {
  missingRevisionPolicy: 'missing-revision-policy',
  expandVirtualMachines: 'expand-vms',
} as const;

export const PLUGIN_CONFIG_LABEL = 'velero.io/plugin-config';
/** The kind the VM restore action is registered as; the ConfigMap's second label carries it. */
export const RESTORE_VM_ACTION_KIND = 'RestoreItemActionV2';

/** The label selector that finds the restore-vm-action's ConfigMap. */
export function restoreConfigMapSelector(): string {
  return `${PLUGIN_CONFIG_LABEL}=,${ActionNames.restoreVm}=${RESTORE_VM_ACTION_KIND}`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function parsePolicy(value: string, where: string): MissingRevisionPolicy {
  const normalised = value.trim().toLowerCase();
  const found = MISSING_REVISION_POLICIES.find((p) => p === normalised);
  if (found === undefined) {
    throw new ConfigError(`${where} is "${value}"; expected one of ${MISSING_REVISION_POLICIES.join(', ')}`);
  }
  return found;
}

function parseBoolean(value: string, where: string): boolean {
  const normalised = value.trim().toLowerCase();
  if (normalised === 'true') return true;
  if (normalised === 'false') return false;
  throw new ConfigError(`${where} is "${value}"; expected true or false`);
}

/** Reads the ConfigMap's data into options; unknown keys are an error (a typo must not pass silently). */
export function optionsFromConfigMapData(
  data: Record<string, string>,
  configMapName: string,
  base: RevisionOptions = DEFAULT_REVISION_OPTIONS,
): RevisionOptions {
  const options = { ...base };
  const known = new Set<string>(Object.values(ConfigMapKeys));
  for (const key of Object.keys(data)) {
    if (!known.has(key)) {
      throw new ConfigError(
        `plugin ConfigMap ${configMapName} has unknown key "${key}"; known keys: ${[...known].join(', ')}`,
      );
    }
  }
  const policy = data[ConfigMapKeys.missingRevisionPolicy];
  if (policy !== undefined) {
    options.missingRevisionPolicy = parsePolicy(
      policy,
      `key ${ConfigMapKeys.missingRevisionPolicy} of plugin ConfigMap ${configMapName}`,
    );
  }
  const expand = data[ConfigMapKeys.expandVirtualMachines];
  if (expand !== undefined) {
    options.expandVirtualMachines = parseBoolean(
      expand,
      `key ${ConfigMapKeys.expandVirtualMachines} of plugin ConfigMap ${configMapName}`,
    );
  }
  return options;
}

/** Applies the Restore's labels on top of the defaults. */
export function optionsWithRestoreLabels(base: RevisionOptions, restore: Restore): RevisionOptions {
  const options = { ...base };
  const labels = restore.metadata.labels ?? {};
  const restoreName = restore.metadata.name ?? '(unnamed)';
  const policy = labels[RestoreOptionLabels.missingRevisionPolicy];
  if (policy !== undefined) {
    options.missingRevisionPolicy = parsePolicy(
      policy,
      `label ${RestoreOptionLabels.missingRevisionPolicy} on Restore ${restoreName}`,
    );
  }
  const expand = labels[RestoreOptionLabels.expandVirtualMachines];
  if (expand !== undefined) {
    options.expandVirtualMachines = parseBoolean(
      expand,
      `label ${RestoreOptionLabels.expandVirtualMachines} on Restore ${restoreName}`,
    );
  }
  return options;
}

/** The data of the restore-vm-action's plugin ConfigMap, or undefined when there is none. */
export async function readPluginConfigMap(
  api: KubeApi,
  veleroNamespace: string,
): Promise<{ name: string; data: Record<string, string> } | undefined> {
  const found = await api.list(
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: veleroNamespace },
    { labelSelector: restoreConfigMapSelector() },
  );
  if (found.length === 0) return undefined;
  if (found.length > 1) {
    const names = found.map((cm) => cm.metadata.name ?? '?').join(', ');
    throw new ConfigError(
      `more than one plugin ConfigMap in namespace ${veleroNamespace} matches ${restoreConfigMapSelector()}: ` +
        `${names}; keep exactly one`,
    );
  }
  const configMap = found[0] as KubeObject;
  return { name: `${veleroNamespace}/${configMap.metadata.name ?? '?'}`, data: stringData(configMap) };
}

function stringData(configMap: KubeObject): Record<string, string> {
  const raw = configMap['data'];
  const data: Record<string, string> = {};
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    for (const [key, value] of Object.entries(raw)) if (typeof value === 'string') data[key] = value;
  }
  return data;
}

/**
 * The options for one restore: ConfigMap defaults (when VELERO_NAMESPACE is known and the ConfigMap
 * exists), then the Restore's labels.
 */
export async function loadRevisionOptions(
  api: KubeApi,
  restore: Restore,
  veleroNamespace: string | undefined,
): Promise<{ options: RevisionOptions; configMap: string | undefined }> {
  let base = DEFAULT_REVISION_OPTIONS;
  let configMap: string | undefined;
  if (veleroNamespace !== undefined && veleroNamespace !== '') {
    const found = await readPluginConfigMap(api, veleroNamespace);
    if (found !== undefined) {
      base = optionsFromConfigMapData(found.data, found.name);
      configMap = found.name;
    }
  }
  return { options: optionsWithRestoreLabels(base, restore), configMap };
}

/** The run strategies KubeVirt knows (VirtualMachineRunStrategy). */
export const RUN_STRATEGIES = ['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once', 'WaitAsReceiver'] as const;
export type RunStrategy = (typeof RUN_STRATEGIES)[number];

/** The established per-restore knobs of the reference plugin. */
export interface RestoreKnobs {
  runStrategy?: RunStrategy;
  clearMacAddress: boolean;
  generateNewFirmwareUuid: boolean;
}

// The reference plugin enables these knobs by the label's mere presence; we do the same (so existing
// restores behave identically) except that an explicit "false" turns the knob off, as a user would expect.
function flagLabel(labels: Record<string, string>, key: string): boolean {
  const value = labels[key];
  return value !== undefined && value.trim().toLowerCase() !== 'false';
}

/** The knobs that apply to a VM's instance template and to a standalone VMI alike. */
export function instanceKnobs(restore: Restore): Omit<RestoreKnobs, 'runStrategy'> {
  const labels = restore.metadata.labels ?? {};
  return {
    clearMacAddress: flagLabel(labels, UserLabels.clearMacAddress),
    generateNewFirmwareUuid: flagLabel(labels, UserLabels.generateNewFirmwareUuid),
  };
}

export function restoreKnobs(restore: Restore): RestoreKnobs {
  const labels = restore.metadata.labels ?? {};
  const knobs: RestoreKnobs = instanceKnobs(restore);
  const strategy = labels[UserLabels.restoreRunStrategy];
  if (strategy !== undefined) {
    // Label values cannot hold every spelling; accept any case and give KubeVirt its own spelling.
    const found = RUN_STRATEGIES.find((s) => s.toLowerCase() === strategy.trim().toLowerCase());
    if (found === undefined) {
      throw new ConfigError(
        `label ${UserLabels.restoreRunStrategy} on Restore ${restore.metadata.name ?? '(unnamed)'} is "${strategy}"; ` +
          `expected one of ${RUN_STRATEGIES.join(', ')}`,
      );
    }
    knobs.runStrategy = found;
  }
  return knobs;
}
