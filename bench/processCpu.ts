import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU seconds used so far, per process id; null where there is no /proc. */
export type CpuSnapshot = Map<number, number> | null;

/**
 * Which processes a snapshot reads: every process whose command name (/proc/<pid>/stat's comm, which Linux
 * cuts to 15 characters) is `comm` — PostgreSQL's backends and auxiliary processes are all `postgres` — or
 * the one process `pid`.
 */
export type ProcessSelector = { comm: string } | { pid: number };

/**
 * CPU time of the selected processes on this machine, from Linux's /proc. The benchmarks run PostgreSQL and
 * Alertmanager on the same machine as the code they measure, so a figure's cost per operation in each of
 * them is read here, beside the benchmark's own: on two shared cores, that is what bounds a rate.
 */
export function cpuSnapshot(selector: ProcessSelector): CpuSnapshot {
  let pids: string[];
  try {
    pids = 'pid' in selector ? [String(selector.pid)] : readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const comm = 'comm' in selector ? selector.comm.slice(0, 15) : null;
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (comm !== null && stat.slice(stat.indexOf('(') + 1, close) !== comm) continue;
      const fields = stat.slice(close + 2).split(' ');
      // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command.
      times.set(Number(pid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // the process ended meanwhile (or there is no /proc)
    }
  }
  return 'pid' in selector && times.size === 0 ? null : times;
}

/**
 * Seconds of CPU the selected processes used between two snapshots (NaN where either is missing). A
 * process that ended in between is left out (its time went with it: a pool's idle connection closing must
 * not count as negative time); one that started counts whole.
 */
export function cpuSecondsBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  if (!before || !after) return Number.NaN;
  let seconds = 0;
  for (const [pid, t] of after) seconds += t - (before.get(pid) ?? 0);
  return seconds;
}

/** PostgreSQL's processes (the benchmarks' database runs on this machine). */
export const POSTGRES: ProcessSelector = { comm: 'postgres' };

/**
 * Operations per second that `cpuUsPerOperation` (µs of CPU per operation, over every process that does
 * the work) allows if they had all of this machine's cores to themselves: a rate near it is bound by CPU.
 */
export function cpuCeiling(cpuUsPerOperation: number): number {
  return (availableParallelism() * 1e6) / cpuUsPerOperation;
}

/** The ceiling's figure name, with the core count it assumes: `<metric>_cpu_ceiling_<n>_cores`. */
export const cpuCeilingMetric = (metric: string) => `${metric}_cpu_ceiling_${availableParallelism()}_cores`;
