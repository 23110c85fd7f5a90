import { createHash } from 'node:crypto';
import type pg from 'pg';
import {
  type DriftStats,
  type ProvenanceFilter,
  PERCENTILE_SCALE,
  numeric,
  where,
} from './provenanceQueries';
import {
  type DriftSketch,
  mergeSketch,
  newSketch,
  sketchFromBytes,
  sketchOf,
  sketchQuantile,
} from './driftSketch';

/**
 * drift-stats from provenance_drift_daily: whole UTC days of the window come from their rollup rows (one
 * row per day, tenant and variant, whatever the records in it), the partial days at its edges from their
 * records. count, mean, stddev, min and max are exact (numeric sums); p50/p90/p99 come from the merged
 * DDSketches (within 1 % of the magnitude of a record's value at that rank, see driftSketch.ts) — exact,
 * by percentile_cont's definition, when no rollup row is involved.
 */

const DAY_MS = 86_400_000;
const floorDay = (d: Date) => Math.floor(d.getTime() / DAY_MS) * DAY_MS;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Filters the rollup's key can answer: tenant, variant and the time window. */
export function rollupAnswers(filter: ProvenanceFilter): boolean {
  return !filter.source && !filter.input_hash && !filter.run_id;
}

interface Window {
  /** first whole day (ms, midnight UTC), null = unbounded */
  firstDay: number | null;
  /** end of the whole days (exclusive, ms), null = unbounded */
  endDay: number | null;
}

function wholeDays(filter: ProvenanceFilter): Window {
  let firstDay: number | null = null;
  if (filter.from) {
    const f = floorDay(filter.from);
    firstDay = f === filter.from.getTime() ? f : f + DAY_MS;
  }
  // Day d is whole iff its next midnight is within the window: d + 1 day <= to, or <= before.
  const ends = [filter.to, filter.before].filter((d): d is Date => d !== undefined).map(floorDay);
  const endDay = ends.length > 0 ? Math.min(...ends) : null;
  return { firstDay, endDay };
}

interface Row {
  key: string | null;
  overall: boolean;
  total: string;
  avg_delta: string | null;
  min_delta: number | null;
  max_delta: number | null;
  stddev_delta: string | null;
  sketches: Buffer[] | null;
  deltas: number[] | null;
}

export async function driftStatsFromRollup(
  pool: pg.Pool,
  filter: ProvenanceFilter,
  groupBy: 'none' | 'variant' | 'tenant',
): Promise<DriftStats & { groups?: Record<string, DriftStats> }> {
  const { firstDay, endDay } = wholeDays(filter);
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const noWholeDays = firstDay !== null && endDay !== null && firstDay >= endDay;
  // Every parameter pushed is used: PostgreSQL cannot type one that no statement part names.
  const rollupWhere: string[] = [];
  if (!noWholeDays) {
    if (filter.tenant !== undefined) rollupWhere.push(`tenant_id = ${p(filter.tenant)}`);
    if (filter.variant_slug) rollupWhere.push(`variant_slug = ${p(filter.variant_slug)}`);
    if (firstDay !== null) rollupWhere.push(`day >= ${p(isoDay(firstDay))}::date`);
    if (endDay !== null) rollupWhere.push(`day < ${p(isoDay(endDay))}::date`);
  }
  const rollupParams = params.length;

  // The records outside the whole days, inside the window: before the first whole day, from the end.
  // Only the edges that hold time (a window of whole days has none), each as a range of its own, so the
  // created_at index reads just them (a filter over the whole window would read every record in it).
  const edges: string[] = [];
  if (noWholeDays) edges.push('true');
  else {
    if (firstDay !== null && filter.from && filter.from.getTime() < firstDay) {
      edges.push(`(created_at >= ${p(filter.from)} and created_at < ${p(new Date(firstDay))})`);
    }
    if (endDay !== null) {
      const upper = [
        ...(filter.to && filter.to.getTime() >= endDay ? [`created_at <= ${p(filter.to)}`] : []),
        ...(filter.before && filter.before.getTime() > endDay ? [`created_at < ${p(filter.before)}`] : []),
      ];
      if (upper.length > 0 && upper.length === [filter.to, filter.before].filter(Boolean).length) {
        edges.push(`(created_at >= ${p(new Date(endDay))} and ${upper.join(' and ')})`);
      }
    }
  }
  let recordWhere = '';
  if (edges.length > 0) {
    const w = where(filter);
    const offset = params.length;
    recordWhere = w.sql
      ? w.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)
      : 'where true';
    params.push(...w.params);
  }
  const key = groupBy === 'variant' ? 'variant_slug' : groupBy === 'tenant' ? 'tenant_id' : 'null::text';
  const rollupRows = `from provenance_drift_daily ${rollupWhere.length > 0 ? `where ${rollupWhere.join(' and ')}` : ''}`;
  const parts = [
    ...(noWholeDays
      ? []
      : [
          `select ${key} as key, n, sum_delta, sumsq_delta, min_delta, max_delta, null::float8 as delta
             ${rollupRows}`,
        ]),
    ...(edges.length > 0
      ? [
          `select ${key} as key, 1::bigint, cost_delta::numeric, cost_delta::numeric * cost_delta::numeric,
                  cost_delta, cost_delta, cost_delta
             from provenance ${recordWhere} and cost_delta is not null and (${edges.join(' or ')})`,
        ]
      : []),
  ];
  const n = 'sum(n)';
  const sql = `with parts (key, n, sum_delta, sumsq_delta, min_delta, max_delta, delta) as (
      ${parts.join(' union all ')})
    select ${groupBy === 'none' ? 'null::text as key, true' : 'key, grouping(key) = 1'} as overall,
           coalesce(${n}, 0)::text as total, sum(sum_delta) / nullif(${n}, 0) as avg_delta,
           min(min_delta) as min_delta, max(max_delta) as max_delta,
           case when ${n} > 1
                then sqrt(greatest((${n} * sum(sumsq_delta) - sum(sum_delta) * sum(sum_delta)) / (${n} * (${n} - 1)), 0))
           end as stddev_delta,
           array_agg(delta) filter (where delta is not null) as deltas
      from parts
      ${groupBy === 'none' ? '' : 'group by grouping sets ((), (key)) order by key'}`;
  // The sketches as rows of their own, not an aggregated bytea[]: pg parses a large array's text
  // character by character (a day's 12 sketches took ~10 ms that way), a bytea column in one step.
  const [{ rows }, { rows: sketchRows }] = await Promise.all([
    pool.query<Row>({ name: statementName(sql), text: sql, values: params }),
    noWholeDays
      ? Promise.resolve({ rows: [] as Array<{ key: string | null; sketch: Buffer }> })
      : pool.query<{ key: string | null; sketch: Buffer }>({
          name: statementName(`select ${key} as key, sketch ${rollupRows}`),
          text: `select ${key} as key, sketch ${rollupRows}`,
          values: params.slice(0, rollupParams),
        }),
  ]);
  const byKey = new Map<string | null, Buffer[]>();
  for (const r of sketchRows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.sketch]);
  for (const r of rows) r.sketches = r.overall ? sketchRows.map((s) => s.sketch) : (byKey.get(r.key) ?? null);

  const overallRow = rows.find((r) => r.overall);
  const groupRows = rows.filter((r) => !r.overall);
  const sketches = new Map<Row, DriftSketch | null>();
  for (const r of groupBy === 'none' ? rows : groupRows) sketches.set(r, sketchFrom(r));
  // Grouped: the overall sketch is the merge of the groups' (each row's sketch is decoded once).
  let overallSketch: DriftSketch | null = null;
  if (groupBy === 'none') overallSketch = overallRow ? (sketches.get(overallRow) ?? null) : null;
  else if (groupRows.some((r) => sketches.get(r))) {
    overallSketch = newSketch();
    for (const r of groupRows) {
      const s = sketches.get(r) ?? sketchOf(r.deltas ?? []);
      mergeSketch(overallSketch, s);
    }
  }
  const overall = stats(overallRow, overallSketch);
  if (groupBy === 'none') return overall;
  return {
    ...overall,
    groups: Object.fromEntries(groupRows.map((r) => [r.key ?? 'global', stats(r, sketches.get(r) ?? null)])),
  };
}

/**
 * Named statements, parsed and planned once per connection: the text has a few shapes (which filters and
 * edges a window has), and planning was a visible share of a query that reads a dozen rows.
 */
const statementName = (sql: string) => `drift_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;

/** The row's merged sketch with its edge records added; null when no rollup row is in it (exact). */
function sketchFrom(row: Row): DriftSketch | null {
  if (!row.sketches || row.sketches.length === 0) return null;
  const merged = newSketch();
  for (const bytes of row.sketches) mergeSketch(merged, sketchFromBytes(bytes));
  if (row.deltas && row.deltas.length > 0) mergeSketch(merged, sketchOf(row.deltas));
  return merged;
}

function stats(row: Row | undefined, sketch: DriftSketch | null): DriftStats {
  const base = numeric({
    total: Number(row?.total ?? 0),
    avg_delta: row?.avg_delta ?? null,
    min_delta: row?.min_delta ?? null,
    max_delta: row?.max_delta ?? null,
    stddev_delta: row?.stddev_delta ?? null,
    p50_delta: null,
    p90_delta: null,
    p99_delta: null,
  } as unknown as DriftStats);
  const min = base.min_delta;
  const max = base.max_delta;
  if (min === null || max === null) return base;
  const at = (q: number) =>
    sketch ? sketchQuantile(sketch, q, min, max) : exactPercentile(row?.deltas ?? [], q);
  return { ...base, p50_delta: at(0.5), p90_delta: at(0.9), p99_delta: at(0.99) };
}

/** percentile_cont over the values, computed as the exact query does (over value / 4, times 4). */
function exactPercentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = values.map((v) => v / PERCENTILE_SCALE).sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const x = (a + (b - a) * (rank - lo)) * PERCENTILE_SCALE;
  return Number.isFinite(x) ? x : null;
}
