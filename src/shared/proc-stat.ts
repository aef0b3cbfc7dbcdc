// CPU time of a process or thread from Linux's /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat).
import { readFileSync } from 'node:fs';

/**
 * utime + stime in milliseconds: fields 14 and 15 of the line, in clock ticks, counted after the ")"
 * that closes the command name (which may contain spaces). USER_HZ is 100 on every Linux architecture
 * Node supports. Only the process's (or thread's) own time: children count once they are reaped.
 * Undefined when the file cannot be read or parsed (not Linux, process gone).
 */
export function cpuMsOfStat(statPath: string): number | undefined {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}
