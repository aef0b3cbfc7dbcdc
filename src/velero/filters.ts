// Velero's resource include/exclude rules, as its item backupper applies them to the additional
// items a BackupItemAction returns (pkg/util/collections/includes_excludes.go and
// pkg/backup/item_backupper.go). The plugin uses them to predict whether an object it depends on will
// really end up in the backup, so that a VM that could not be restored is refused instead of stored.
//
// How Velero reads a filter entry: "*" stays as is; anything else is parsed as "resource.group" and
// resolved through API discovery (case-insensitive; plural, singular, kind or short name) to its
// canonical "plural.group" ("plural" for the core group); an entry that does not resolve is kept
// verbatim and used as a glob pattern. Excludes win over includes.
import { groupResourceString, KNOWN_RESOURCES, type ResourceInfo } from '../kube/resources.ts';
import type { Backup } from './types.ts';

/**
 * Resolves one filter entry the way Velero's discovery helper would, for the resources we know.
 * For the scoped filters (`scope` given), Velero drops an entry that resolves to a resource of the
 * other scope: the result is then undefined.
 */
export function resolveFilterEntry(entry: string, scope?: 'namespaced' | 'cluster'): string | undefined {
  if (entry === '*') return entry;
  const dot = entry.indexOf('.');
  const name = (dot < 0 ? entry : entry.slice(0, dot)).toLowerCase();
  const group = dot < 0 ? undefined : entry.slice(dot + 1).toLowerCase();
  const match = KNOWN_RESOURCES.find(
    (r) =>
      (group === undefined || r.group === group) &&
      (r.plural === name || r.singular === name || r.shortNames.includes(name)),
  );
  if (match === undefined) return entry;
  if (scope !== undefined && match.namespaced !== (scope === 'namespaced')) return undefined;
  return groupResourceString(match);
}

/** gobwas/glob syntax without separators: * ? [abc] [!abc] [a-z] {a,b} and \ escapes. */
export function globToRegExp(pattern: string): RegExp | undefined {
  let out = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '\\') {
      i++;
      if (i >= pattern.length) return undefined;
      out += escapeRegExp(pattern.charAt(i));
    } else if (c === '*') {
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) return undefined;
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      if (body === '') return undefined;
      out += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) {
      out += '|';
    } else {
      out += escapeRegExp(c);
    }
  }
  if (braces !== 0) return undefined;
  return new RegExp(`^${out}$`, 's');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, (m) => `\\${m}`);
}

/** Velero's globStringSet: sorted entries; a pattern that does not compile ends the search (as in Velero). */
class GlobSet {
  private readonly entries: string[];
  /** Compiled on first match, in entry order; undefined where a pattern does not compile. */
  private patterns: (RegExp | undefined)[] | undefined;
  constructor(entries: readonly string[]) {
    this.entries = [...new Set(entries)].sort();
  }
  get size(): number {
    return this.entries.length;
  }
  has(entry: string): boolean {
    return this.entries.includes(entry);
  }
  match(value: string): boolean {
    this.patterns ??= this.entries.map(globToRegExp);
    for (const re of this.patterns) {
      if (re === undefined) return false;
      if (re.test(value)) return true;
    }
    return false;
  }
}

class IncludesExcludes {
  readonly includes: GlobSet;
  readonly excludes: GlobSet;
  /** `scope` undefined: the old filters, where "*" is ignored in excludes. */
  constructor(includes: readonly string[], excludes: readonly string[], scope?: 'namespaced' | 'cluster') {
    const resolve = (list: readonly string[]): string[] =>
      list.map((e) => resolveFilterEntry(e, scope)).filter((e): e is string => e !== undefined);
    this.includes = new GlobSet(resolve(includes));
    this.excludes = new GlobSet(resolve(excludes.filter((e) => !(scope === undefined && e === '*'))));
  }
  shouldInclude(typeName: string): boolean {
    if (this.excludes.match(typeName)) return false;
    return this.includes.size === 0 || this.includes.has('*') || this.includes.match(typeName);
  }
}

/** Velero keeps the old filters when any of them is set; otherwise the scoped ones apply. */
export function usesOldResourceFilters(backup: Backup): boolean {
  const spec = backup.spec ?? {};
  return (
    (spec.includeClusterResources !== undefined && spec.includeClusterResources !== null) ||
    (spec.includedResources?.length ?? 0) > 0 ||
    (spec.excludedResources?.length ?? 0) > 0
  );
}

/**
 * Whether Velero would back up an object of this resource when an action names it as an additional
 * item (namespace filters aside: the plugin only names objects in the namespace of the item it is
 * given, or cluster-scoped ones). Namespaced resources must pass the resource filters; cluster-scoped
 * ones are taken unless excluded.
 */
export function backupIncludesResource(backup: Backup, resource: ResourceInfo): boolean {
  return remembered(backup, `resource ${groupResourceString(resource)}`, () => includesResource(backup, resource));
}

/**
 * Answers worked out for a frozen Backup (the one the host decodes once per backup, src/host/wire.ts):
 * the same Backup comes with every call of a backup, and its filters are compiled once instead of on
 * every call. A Backup that is not frozen may still change, so nothing is remembered for it.
 */
const answersByBackup = new WeakMap<Backup, Map<string, boolean>>();

function remembered(backup: Backup, question: string, answer: () => boolean): boolean {
  if (!Object.isFrozen(backup)) return answer();
  let answers = answersByBackup.get(backup);
  if (answers === undefined) {
    answers = new Map();
    answersByBackup.set(backup, answers);
  }
  let known = answers.get(question);
  if (known === undefined) {
    known = answer();
    answers.set(question, known);
  }
  return known;
}

function includesResource(backup: Backup, resource: ResourceInfo): boolean {
  const spec = backup.spec ?? {};
  const typeName = groupResourceString(resource);
  if (usesOldResourceFilters(backup)) {
    const filter = new IncludesExcludes(spec.includedResources ?? [], spec.excludedResources ?? []);
    if (resource.namespaced) return filter.shouldInclude(typeName);
    if (filter.excludes.match(typeName)) return false;
    if (spec.includeClusterResources === false) return false;
    if ((spec.includeClusterResources === undefined || spec.includeClusterResources === null) && !filter.shouldInclude(typeName)) {
      return false;
    }
    return true;
  }
  if (resource.namespaced) {
    const filter = new IncludesExcludes(
      spec.includedNamespaceScopedResources ?? [],
      spec.excludedNamespaceScopedResources ?? [],
      'namespaced',
    );
    if (filter.excludes.has('*')) return false;
    return filter.shouldInclude(typeName);
  }
  const filter = new IncludesExcludes(
    spec.includedClusterScopedResources ?? [],
    spec.excludedClusterScopedResources ?? [],
    'cluster',
  );
  return !filter.excludes.match(typeName);
}

/**
 * Whether the backup's namespace filters let an object of this namespace in. Velero applies them to
 * the additional and related items plugins name, too (item_backupper's inclusion checks).
 */
export function backupIncludesNamespace(backup: Backup, namespace: string): boolean {
  return remembered(backup, `namespace ${namespace}`, () => includesNamespace(backup, namespace));
}

function includesNamespace(backup: Backup, namespace: string): boolean {
  const spec = backup.spec ?? {};
  if (new GlobSet(spec.excludedNamespaces ?? []).match(namespace)) return false;
  const includes = new GlobSet(spec.includedNamespaces ?? []);
  return includes.size === 0 || includes.has('*') || includes.match(namespace);
}
