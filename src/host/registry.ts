// What this binary offers: (kind, name) -> action factory. Velero validates the names at start-up and
// aborts entirely on a bad or duplicate one, so we validate them first, when the program is built.
import type { ActionKind, BackupItemAction, ItemBlockAction, Logger, RestoreItemAction } from '../velero/actions.ts';
import { PluginError } from './errors.ts';

export type ActionFor<K extends ActionKind> = K extends 'BackupItemAction' | 'BackupItemActionV2'
  ? BackupItemAction
  : K extends 'ItemBlockAction'
    ? ItemBlockAction
    : RestoreItemAction;

type AnyAction = BackupItemAction | RestoreItemAction | ItemBlockAction;

export type ActionFactory<K extends ActionKind> = (log: Logger) => ActionFor<K>;

interface Registration {
  kind: ActionKind;
  name: string;
  factory: (log: Logger) => AnyAction;
  instance?: AnyAction;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Velero's rule: exactly one '/', both parts non-empty, the prefix a DNS-1123 subdomain. */
export function validatePluginName(name: string): void {
  const parts = name.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new Error(`plugin name "${name}" must have the form <prefix>/<name> with exactly one "/"`);
  }
  if (parts[0].length > 253 || !DNS1123_SUBDOMAIN.test(parts[0])) {
    throw new Error(`plugin name "${name}": prefix "${parts[0]}" is not a DNS-1123 subdomain`);
  }
}

export class PluginRegistry {
  private readonly registrations = new Map<string, Registration>();

  register<K extends ActionKind>(kind: K, name: string, factory: ActionFactory<K>): void {
    validatePluginName(name);
    // One name is one plugin whatever its kind: Velero keys names per kind, but a name registered as
    // both v1 and v2 would run twice.
    if (this.registrations.has(name)) throw new Error(`plugin name "${name}" is registered twice`);
    this.registrations.set(name, { kind, name, factory });
  }

  list(): { kind: ActionKind; name: string }[] {
    return [...this.registrations.values()].map(({ kind, name }) => ({ kind, name }));
  }

  /** The action for a request, created on first use (ListPlugins alone creates nothing). */
  resolve<K extends ActionKind>(kind: K, name: string, log: Logger): ActionFor<K> {
    const registration = this.registrations.get(name);
    if (!registration) {
      const offered = this.list()
        .filter((r) => r.kind === kind)
        .map((r) => r.name);
      throw new PluginError(
        `unknown plugin name "${name}" for ${kind}; this binary serves: ${offered.length ? offered.join(', ') : 'none of that kind'}`,
      );
    }
    if (registration.kind !== kind) {
      throw new PluginError(`plugin "${name}" is registered as ${registration.kind}, not ${kind}`);
    }
    registration.instance ??= registration.factory(log.with({ plugin: name }));
    return registration.instance as ActionFor<K>;
  }
}
