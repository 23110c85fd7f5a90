import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time of every PostgreSQL process on this machine (backends and auxiliary processes), per process id,
 * from Linux's /proc; null where there is no /proc. The benchmarks run PostgreSQL on the same machine, so
 * its CPU per request is read here, beside the service's: on two shared cores it is where a request's cost
 * goes besides the service's own thread.
 */
export function postgresCpuSnapshot(): Map<number, number> | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command.
      times.set(Number(pid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // the process ended meanwhile
    }
  }
  return times;
}

/**
 * Seconds of CPU PostgreSQL's processes used between two snapshots. A process that ended in between is left
 * out (its time went with it: a pool's idle connection closing must not count as negative time); one that
 * started counts whole.
 */
export function postgresCpuSeconds(
  before: Map<number, number> | null,
  after: Map<number, number> | null,
): number {
  if (!before || !after) return Number.NaN;
  let seconds = 0;
  for (const [pid, t] of after) seconds += t - (before.get(pid) ?? 0);
  return seconds;
}
