// How a preference asks for the guest's vCPUs to be laid out (KubeVirt v1.9.0 GetPreferredTopology
// and GetSpreadOptions): default "sockets"; "spread" uses a ratio (default 2, the deprecated
// top-level preferSpreadSocketToCoreRatio, or cpu.spreadOptions.ratio) across SocketsCores by default.
import { num, type Obj, optObj, present, str } from './json-util.ts';

export function preferredTopology(pref: Obj | undefined): string {
  const cpu = optObj(pref?.['cpu'], 'preference.spec.cpu');
  if (cpu !== undefined && present(cpu['preferredCPUTopology'])) return str(cpu['preferredCPUTopology']);
  return 'sockets';
}

export function spreadOptions(pref: Obj | undefined): { ratio: number; across: string } {
  let ratio = 2;
  const legacy = num(pref?.['preferSpreadSocketToCoreRatio']);
  if (legacy !== 0) ratio = legacy;
  let across = 'SocketsCores';
  const cpu = optObj(pref?.['cpu'], 'preference.spec.cpu');
  const spread = optObj(cpu?.['spreadOptions'], 'preference.spec.cpu.spreadOptions');
  if (spread !== undefined) {
    if (present(spread['across'])) across = str(spread['across']);
    if (present(spread['ratio'])) ratio = num(spread['ratio']);
  }
  return { ratio, across };
}

export function isSpread(topology: string): boolean {
  return topology === 'spread' || topology === 'preferSpread';
}
