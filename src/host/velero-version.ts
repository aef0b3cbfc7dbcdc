// What the launching Velero can use, told apart by how it passes arguments to its plugins. Velero
// <= 1.14 builds them itself: exactly `--log-level <level>`, then `--features <csv>` when features are
// enabled. Velero >= 1.15 passes its own `velero server` flags verbatim (`--log-level=debug`,
// `--uploader-type=kopia`, ... or nothing at all). Only the exact old shape counts as old: a newer
// Velero started with nothing but `--log-level <level>` is taken for an old one, which costs it the
// item-block features and nothing else.
import type { ActionKind } from '../velero/actions.ts';

const OLD_STYLE_FLAGS = ['--log-level', '--features'] as const;

/** True when the arguments have the shape only Velero <= 1.14 gives (see above). */
export function launchedByVeleroBefore115(args: readonly string[]): boolean {
  if (args.length !== 2 && args.length !== 4) return false;
  for (let i = 0; i < args.length; i += 2) {
    const value = args[i + 1] ?? '';
    if (args[i] !== OLD_STYLE_FLAGS[i / 2] || value === '' || value.startsWith('-')) return false;
  }
  return true;
}

/**
 * Plugin kinds the launching Velero does not know. Velero <= 1.14 rejects a listing that names a kind
 * it does not know ("invalid plugin kind") and the whole server start fails, so such kinds must not
 * be listed to it.
 */
export function kindsUnknownToLauncher(args: readonly string[]): ReadonlySet<ActionKind> {
  return launchedByVeleroBefore115(args) ? new Set<ActionKind>(['ItemBlockAction']) : new Set<ActionKind>();
}
