import { describe, expect, it } from 'vitest';
import { kindsUnknownToLauncher, launchedByVeleroBefore115 } from '../../src/host/velero-version.ts';

describe('telling Velero <= 1.14 from >= 1.15 by the plugin arguments', () => {
  it.each([
    [['--log-level', 'info'], true],
    [['--log-level', 'debug', '--features', 'EnableCSI'], true],
    [['--log-level', 'debug', '--features', 'EnableCSI,EnableAPIGroupVersions'], true],
    // >= 1.15: `velero server` flags verbatim
    [['--log-level=debug'], false],
    [['--log-level=info', '--features=EnableCSI'], false],
    [['--uploader-type=kopia', '--log-level', 'debug'], false],
    [['--features', 'EnableCSI', '--log-level', 'debug'], false],
    [['--log-level', '--features'], false],
    [[], false],
  ])('%j -> %s', (args, old) => {
    expect(launchedByVeleroBefore115(args)).toBe(old);
    expect(kindsUnknownToLauncher(args).has('ItemBlockAction')).toBe(old);
  });
});
