/**
 * Which parts of a drift-stats window come from the drift rollup and which from raw provenance rows
 * (docs/api.md "Drift statistics"). Pure: the query (driftStatsRollup.ts) gives it what it read.
 *
 * A window [from, to] (inclusive, as every provenance filter) takes:
 * - its whole UTC days from the rollup's day rows, its other whole UTC hours from hour rows;
 * - an edge hour the window covers only in part from the rollup too when no record lies in the part it
 *   leaves out (a day asked as `end_date=YYYY-MM-DD` ends at 23:59:59.999: its last hour is whole in
 *   practice), else from raw rows;
 * - from raw rows, always: the current and the previous hour (still being written, and where the two
 *   lanes' lag lives), everything up to the end of the hour holding the latest retention cut-off (the
 *   rollup's figures there may include records retention removed), and every hour that events the rollup
 *   has not applied yet (but `provenance` has) fall into.
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;

export interface WindowFacts {
  /** inclusive bounds; undefined = open */
  from?: Date;
  to?: Date;
  now: Date;
  /** Whether any record with both costs lies in [floorHour(from), from) / (to, floorHour(to) + 1 h). */
  headHasRows: boolean;
  tailHasRows: boolean;
  /** The latest retention cut-off the rollup applied or has yet to apply; null = none. */
  cutoff: Date | null;
  /** Hour starts (ms) of records the rollup has not applied yet. */
  pendingHours: readonly number[];
}

export interface WindowPlan {
  /** Rollup hours: [a, b) in ms (±Infinity open), less `excludedHours`; days: [d1, d2) less `excludedDays`. */
  a: number;
  b: number;
  d1: number;
  d2: number;
  excludedHours: number[];
  excludedDays: number[];
  /** Raw-row ranges [lo, hi) in ms, intersected with the window by the query. */
  raw: Array<[number, number]>;
}

/** null = nothing comes from the rollup: the exact query over raw rows answers alone. */
export function planWindow(f: WindowFacts): WindowPlan | null {
  const from = f.from?.getTime() ?? -Infinity;
  const to = f.to?.getTime() ?? Infinity;
  let a = Number.isFinite(from) ? ceilTo(from, HOUR_MS) : -Infinity;
  if (Number.isFinite(from) && a !== from && !f.headHasRows) a = floorTo(from, HOUR_MS);
  let b = Number.isFinite(to) ? floorTo(to, HOUR_MS) : Infinity;
  if (Number.isFinite(to) && !f.tailHasRows) b += HOUR_MS;
  b = Math.min(b, floorTo(f.now.getTime(), HOUR_MS) - HOUR_MS);
  if (f.cutoff) a = Math.max(a, ceilTo(f.cutoff.getTime(), HOUR_MS));
  if (!(a < b)) return null;

  const excludedHours = [...new Set(f.pendingHours)].filter((h) => h >= a && h < b).sort((x, y) => x - y);
  const excludedDays = [...new Set(excludedHours.map((h) => floorTo(h, DAY_MS)))];
  const d1 = Number.isFinite(a) ? ceilTo(a, DAY_MS) : -Infinity;
  const d2 = Number.isFinite(b) ? floorTo(b, DAY_MS) : Infinity;

  const raw: Array<[number, number]> = [];
  if (from < a) raw.push([-Infinity, a]);
  for (const h of excludedHours) {
    const last = raw[raw.length - 1];
    if (last && last[1] === h) last[1] = h + HOUR_MS;
    else raw.push([h, h + HOUR_MS]);
  }
  if (b <= to) {
    const last = raw[raw.length - 1];
    if (last && last[1] === b) last[1] = Infinity;
    else raw.push([b, Infinity]);
  }
  return { a, b, d1, d2, excludedHours, excludedDays, raw };
}
