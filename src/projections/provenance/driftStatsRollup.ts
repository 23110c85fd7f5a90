import type pg from 'pg';
import { ALL, SPAN_SECONDS, bucketStart } from './driftRollupProjection';
import { type Sketch, SketchMerger, newSketch, quantile } from './driftSketch';
import type { DriftStats } from './provenanceQueries';
import { DAY_MS, HOUR_MS, type WindowPlan, planWindow } from './driftWindowPlan';

/** Events the rollup may be behind `provenance` by and still answer: their hours are read raw. */
export const MAX_PENDING_EVENTS = 2000;

export type DriftGroupBy = 'none' | 'variant' | 'tenant';

/** The figures of docs/api.md "Drift statistics", whichever path computed them. */
export type DriftFigures = DriftStats;

const ts = (ms: number) =>
  ms === Infinity ? 'infinity' : ms === -Infinity ? '-infinity' : new Date(ms).toISOString();

const finite = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  const x = Number(v);
  return Number.isFinite(x) ? x : null;
};

interface State {
  behind_ok: boolean;
  cutoff: Date | null;
  pending_hours: Date[] | null;
  head_rows: boolean;
  tail_rows: boolean;
}

/**
 * Drift statistics from the drift rollup plus raw rows (driftWindowPlan.ts says which part is which), or
 * null when nothing of the window can come from the rollup (then the caller's exact query answers: small
 * windows, recent windows, a rollup that is missing or too far behind).
 *
 * count, avg, min and max are exact (sums over numeric, as the raw query's); stddev is the same formula as
 * PostgreSQL's stddev_samp over numeric; p50/p90/p99 come from the merged DDSketch (driftSketch.ts: within
 * 1 % of a value of the window next to the exact percentile, clamped to the exact min and max).
 */
export async function driftStatsFromRollup(
  pool: pg.Pool,
  filter: { tenant?: string; from?: Date; to?: Date },
  groupBy: DriftGroupBy,
  now: Date,
): Promise<(DriftFigures & { groups?: Record<string, DriftFigures> }) | null> {
  const tenantRaw = filter.tenant !== undefined ? 'tenant_id = $1' : 'true';
  const params0: unknown[] = filter.tenant !== undefined ? [filter.tenant] : [];
  const p = (v: unknown, list: unknown[]) => {
    list.push(v);
    return `$${list.length}`;
  };
  // One round trip: are both lanes there, how far behind is the rollup, the cut-off, the edge probes.
  const sp = [...params0];
  const from = filter.from ? p(filter.from, sp) : null;
  const to = filter.to ? p(filter.to, sp) : null;
  const headLo = filter.from ? p(new Date(Math.floor(filter.from.getTime() / HOUR_MS) * HOUR_MS), sp) : null;
  const tailHi = filter.to
    ? p(new Date(Math.floor(filter.to.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS), sp)
    : null;
  const probe = (range: string) =>
    `exists (select 1 from provenance where ${tenantRaw} and cost_delta is not null and ${range})`;
  const { rows } = await pool.query<State>(
    `select coalesce(pend.n <= ${MAX_PENDING_EVENTS}, false) as behind_ok,
            greatest((select before from drift_rollup_retention), ret.before) as cutoff,
            pend.hours as pending_hours,
            ${from && headLo ? probe(`created_at >= ${headLo} and created_at < ${from}`) : 'false'} as head_rows,
            ${to && tailHi ? probe(`created_at > ${to} and created_at < ${tailHi}`) : 'false'} as tail_rows
       from (select 1) one
       left join projection_checkpoints pc on pc.name = 'provenance'
       left join projection_checkpoints rc on rc.name = 'drift_rollup'
       left join lateral (
         select count(*) as n, array_agg(distinct h) as hours
           from (select ${bucketStart("(e.data->>'created_at')::timestamptz", SPAN_SECONDS.hour)} as h
                   from es_events e
                  where e.event_type = 'ProvenanceRecorded'
                    and e.transaction_id >= rc.transaction_id and e.transaction_id <= pc.transaction_id
                    and (e.transaction_id, e.global_position) > (rc.transaction_id, rc.global_position)
                    and (e.transaction_id, e.global_position) <= (pc.transaction_id, pc.global_position)
                  limit ${MAX_PENDING_EVENTS + 1}) x) pend on pc.name is not null and rc.name is not null
       left join lateral (
         select max((e.data->>'before')::timestamptz) as before
           from es_events e
          where e.event_type = 'ProvenanceRetentionApplied' and e.transaction_id >= rc.transaction_id
            and (e.transaction_id, e.global_position) > (rc.transaction_id, rc.global_position)) ret
         on rc.name is not null`,
    sp,
  );
  const state = rows[0]!;
  if (!state.behind_ok) return null;
  const plan = planWindow({
    ...(filter.from ? { from: filter.from } : {}),
    ...(filter.to ? { to: filter.to } : {}),
    now,
    headHasRows: state.head_rows,
    tailHasRows: state.tail_rows,
    cutoff: state.cutoff,
    pendingHours: (state.pending_hours ?? []).map((h) => h.getTime()),
  });
  if (!plan) return null;
  return answer(pool, filter, groupBy, plan);
}

async function answer(
  pool: pg.Pool,
  filter: { tenant?: string; from?: Date; to?: Date },
  groupBy: DriftGroupBy,
  plan: WindowPlan,
): Promise<DriftFigures & { groups?: Record<string, DriftFigures> }> {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const tenant = filter.tenant !== undefined ? p(filter.tenant) : null;
  const rawKey = groupBy === 'variant' ? 'variant_slug' : groupBy === 'tenant' ? 'tenant_id' : 'null::text';
  const rollKey =
    groupBy === 'variant' ? 'variant_slug' : groupBy === 'tenant' ? "nullif(tenant_key, '')" : 'null::text';
  // The level of the rollup that holds these groups (driftRollupProjection.ts, ALL).
  const level = [
    tenant
      ? `tenant_key = ${tenant}`
      : groupBy === 'tenant'
        ? `tenant_key <> '${ALL}'`
        : `tenant_key = '${ALL}'`,
    groupBy === 'variant' ? `variant_slug <> '${ALL}'` : `variant_slug = '${ALL}'`,
  ].join(' and ');

  // Raw rows: each range bounded on both sides (an index range each), intersected with the window.
  // (a parameter is added when first used: PostgreSQL refuses one that no clause names)
  const once = (value: Date | undefined) => {
    let ref: string | undefined;
    return value ? () => (ref ??= `${p(value)}::timestamptz`) : null;
  };
  const fromBound = once(filter.from);
  const toBound = once(filter.to);
  const ranges = plan.raw.map(([lo, hi]) => {
    const parts: string[] = [];
    if (lo !== -Infinity) parts.push(`created_at >= ${p(ts(lo))}::timestamptz`);
    if (fromBound) parts.push(`created_at >= ${fromBound()}`);
    if (hi !== Infinity) parts.push(`created_at < ${p(ts(hi))}::timestamptz`);
    if (toBound) parts.push(`created_at <= ${toBound()}`);
    return `(${parts.length > 0 ? parts.join(' and ') : 'true'})`;
  });
  const raw = `select ${rawKey} as key, cost_delta as d from provenance
                where ${tenant ? `tenant_id = ${tenant} and ` : ''}cost_delta is not null
                  and (${ranges.length > 0 ? ranges.join(' or ') : 'false'})`;

  const a = p(ts(plan.a));
  const b = p(ts(plan.b));
  const d1 = p(ts(plan.d1));
  const d2 = p(ts(plan.d2));
  const exHours = p(plan.excludedHours.map(ts));
  const exDays = p(plan.excludedDays.map(ts));
  const dayOf = bucketStart('bucket', DAY_MS / 1000);
  const roll = `select ${rollKey} as key, n, sum_delta, sum_sq_delta, min_delta, max_delta, sketch
                  from drift_rollup
                 where ${level} and (
                   (span = 'day' and bucket >= ${d1}::timestamptz and bucket < ${d2}::timestamptz
                     and not (bucket = any(${exDays}::timestamptz[])))
                   or (span = 'hour' and bucket >= ${a}::timestamptz and bucket < ${b}::timestamptz
                     and (bucket < ${d1}::timestamptz or bucket >= ${d2}::timestamptz
                          or ${dayOf} = any(${exDays}::timestamptz[]))
                     and not (bucket = any(${exHours}::timestamptz[]))))`;

  const figuresSql = `
    with raw as (${raw}), roll as (${roll}),
    parts as (
      select key, count(*)::numeric as n, sum(d::numeric) as s, sum(d::numeric * d::numeric) as s2,
             min(d) as mn, max(d) as mx from raw group by key
      union all
      select key, sum(n), sum(sum_delta), sum(sum_sq_delta), min(min_delta), max(max_delta) from roll group by key),
    merged as (
      select grouping(key) = 1 as overall, key, coalesce(sum(n), 0) as n, sum(s) as s, sum(s2) as s2,
             min(mn) as mn, max(mx) as mx
        from parts group by grouping sets ((), (key)))
    select overall, key, n::bigint::int as total,
           case when n > 0 then s / n end as avg_delta, mn as min_delta, mx as max_delta,
           -- numeric_stddev_internal's arithmetic: (n·Σx² − (Σx)²) / (n·(n − 1)), 0 when not positive
           case when n > 1 then case when n * s2 - s * s <= 0 then 0
                                     else sqrt((n * s2 - s * s) / (n * (n - 1))) end end as stddev_delta
      from merged order by overall desc, key`;
  const sketchSql = `
    with raw as (${raw}), roll as (${roll})
    select key, sketch, null::float8[] as vals from roll
    union all select key, null, array_agg(d) from raw group by key`;

  const [figures, sketches] = await Promise.all([
    pool.query<{
      overall: boolean;
      key: string | null;
      total: number;
      avg_delta: string | null;
      min_delta: number | null;
      max_delta: number | null;
      stddev_delta: string | null;
    }>(figuresSql, params),
    pool.query<{ key: string | null; sketch: Buffer | null; vals: number[] | null }>(sketchSql, params),
  ]);

  const byKey = new Map<string | null, SketchMerger>();
  const overallMerger = new SketchMerger();
  for (const r of sketches.rows) {
    let m = byKey.get(r.key);
    if (!m) byKey.set(r.key, (m = new SketchMerger()));
    for (const merger of groupBy === 'none' ? [m] : [m, overallMerger]) {
      if (r.sketch) merger.addEncoded(r.sketch);
      if (r.vals) merger.addValues(r.vals);
    }
  }
  const all = groupBy === 'none' ? (byKey.get(null)?.sketch() ?? newSketch()) : overallMerger.sketch();

  const toFigures = (r: (typeof figures.rows)[number], sketch: Sketch): DriftFigures => {
    const min = finite(r.min_delta);
    const max = finite(r.max_delta);
    const pct = (q: number) =>
      r.total > 0 && r.min_delta !== null && r.max_delta !== null
        ? finite(quantile(sketch, q, r.min_delta, r.max_delta))
        : null;
    return {
      total: Number(r.total),
      avg_delta: finite(r.avg_delta),
      min_delta: min,
      max_delta: max,
      stddev_delta: finite(r.stddev_delta),
      p50_delta: pct(0.5),
      p90_delta: pct(0.9),
      p99_delta: pct(0.99),
    };
  };
  const overallRow = figures.rows.find((r) => r.overall)!;
  const overall = toFigures(overallRow, all);
  if (groupBy === 'none') return overall;
  const groups: Record<string, DriftFigures> = {};
  for (const r of figures.rows) {
    if (r.overall) continue;
    groups[r.key ?? 'global'] = toFigures(r, byKey.get(r.key)?.sketch() ?? newSketch());
  }
  return { ...overall, groups };
}
