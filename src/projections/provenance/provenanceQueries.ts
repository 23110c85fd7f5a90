import type pg from 'pg';
import type { ProvenanceRecord } from '../../domain/provenance/provenanceRecorded';
import { parseStorableInstant } from '../../domain/storableValues';
import { driftStatsFromRollup } from './driftStatsRollup';

export interface ProvenanceFilter {
  /** undefined = every tenant */
  tenant?: string;
  variant_slug?: string;
  source?: string;
  input_hash?: string;
  run_id?: string;
  /** inclusive bounds */
  from?: Date;
  to?: Date;
}

interface Cursor {
  created_at: string;
  id: string;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

export class InvalidCursorError extends Error {
  readonly field = 'query.cursor';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A cursor is base64url JSON this service wrote; anything else — a crafted one with a bad uuid, a date
 * PostgreSQL cannot hold, extra fields — is the caller's error (400), never a failed query (500).
 */
function decodeCursor(value: string): Cursor {
  try {
    const c: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (typeof c === 'object' && c !== null && !Array.isArray(c)) {
      const { created_at, id, ...rest } = c as Record<string, unknown>;
      if (
        Object.keys(rest).length === 0 &&
        typeof created_at === 'string' &&
        typeof id === 'string' &&
        UUID.test(id) &&
        parseStorableInstant(created_at).ok
      ) {
        return { created_at, id };
      }
    }
  } catch {
    /* reported below */
  }
  throw new InvalidCursorError('cursor is not one this service issued');
}

/** WHERE clause and parameters of a filter (parameters numbered from 1). */
function where(filter: ProvenanceFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    clauses.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.tenant !== undefined) add('tenant_id = ?', filter.tenant);
  if (filter.variant_slug) add('variant_slug = ?', filter.variant_slug);
  if (filter.source) add('source = ?', filter.source);
  if (filter.input_hash) add('input_hash = ?', filter.input_hash);
  if (filter.run_id) add('run_id = ?', filter.run_id);
  if (filter.from) add('created_at >= ?', filter.from);
  if (filter.to) add('created_at <= ?', filter.to);
  return { sql: clauses.length > 0 ? `where ${clauses.join(' and ')}` : '', params };
}

export interface DriftStats {
  total: number;
  avg_delta: number | null;
  min_delta: number | null;
  max_delta: number | null;
  /** sample standard deviation (n − 1); null below two records */
  stddev_delta: number | null;
  p50_delta: number | null;
  p90_delta: number | null;
  p99_delta: number | null;
}

/**
 * No aggregate here can overflow float8, whatever rows were stored (docs/limits.md): avg and stddev sum
 * over numeric (float8 accumulators fail with "value out of range: overflow" once a sum or a sum of squares
 * passes 1.8e308) and come back as numeric text; percentiles interpolate a + (b − a)·f, where b − a can
 * overflow for values beyond ±9e307, so they are taken over cost_delta / 4 and multiplied by 4 in
 * `numeric()` below — scaling by a power of two is exact in binary floating point, so the result is the
 * same number percentile_cont would give on the raw values.
 */
const PERCENTILE_SCALE = 4;
const STATS_COLUMNS = `count(*)::int as total, avg(cost_delta::numeric) as avg_delta,
  min(cost_delta) as min_delta, max(cost_delta) as max_delta,
  stddev_samp(cost_delta::numeric) as stddev_delta,
  percentile_cont(0.5) within group (order by cost_delta / ${PERCENTILE_SCALE}) as p50_delta,
  percentile_cont(0.9) within group (order by cost_delta / ${PERCENTILE_SCALE}) as p90_delta,
  percentile_cont(0.99) within group (order by cost_delta / ${PERCENTILE_SCALE}) as p99_delta`;

/** Drift in one time bucket (the status page's chart). */
export interface DriftBucket {
  /** Start of the bucket (ISO). */
  at: string;
  /** Records with a drift score in the bucket. */
  count: number;
  avg_drift: number | null;
  max_drift: number | null;
}

/** Reads of the provenance table (docs/api.md "Provenance"). */
export class ProvenanceQueries {
  constructor(
    private readonly pool: pg.Pool,
    /** The service's clock: the drift rollup leaves the current and the previous hour to raw rows. */
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Newest first; `next_cursor` continues after the last row (keyset on created_at, id: no skips). */
  async list(
    filter: ProvenanceFilter,
    limit: number,
    cursor?: string,
  ): Promise<{ records: ProvenanceRecord[]; next_cursor: string | null }> {
    const w = where(filter);
    const params = [...w.params];
    let sql = w.sql;
    if (cursor) {
      const c = decodeCursor(cursor);
      params.push(c.created_at, c.id);
      const keyset = `(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
      sql = sql ? `${sql} and ${keyset}` : `where ${keyset}`;
    }
    params.push(limit + 1);
    const { rows } = await this.pool.query<ProvenanceRecord & { created_at: Date }>(
      `select id, run_id, tenant_id, variant_slug, source, model_version, adapter_version, commit_sha,
              input_hash, output_hash, v1_cost, v2_cost, cost_delta, drift_score, verdict, payload, runtime_ms,
              created_at
         from provenance ${sql}
        order by created_at desc, id desc
        limit $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit).map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
    const last = page[page.length - 1];
    return {
      records: page,
      next_cursor:
        rows.length > limit && last ? encodeCursor({ created_at: last.created_at, id: last.id }) : null,
    };
  }

  /**
   * Drift scores per `bucketSeconds` between `filter.from` and `filter.to` (both required), empty buckets
   * left out. Averages over numeric, like driftStats, so no stored value can overflow them.
   */
  async driftSeries(
    filter: ProvenanceFilter & { from: Date; to: Date },
    bucketSeconds: number,
  ): Promise<DriftBucket[]> {
    const w = where(filter);
    const scored = `${w.sql} and drift_score is not null`;
    const { rows } = await this.pool.query<{
      at: Date;
      count: number;
      avg_drift: string | null;
      max_drift: number | null;
    }>(
      `select to_timestamp(floor(extract(epoch from created_at) / $${w.params.length + 1}) * $${w.params.length + 1}) as at,
              count(*)::int as count, avg(drift_score::numeric) as avg_drift, max(drift_score) as max_drift
         from provenance ${scored}
        group by 1 order by 1`,
      [...w.params, bucketSeconds],
    );
    const finite = (v: unknown) => (v === null || !Number.isFinite(Number(v)) ? null : Number(v));
    return rows.map((r) => ({
      at: r.at.toISOString(),
      count: r.count,
      avg_drift: finite(r.avg_drift),
      max_drift: finite(r.max_drift),
    }));
  }

  /**
   * Over records that have both costs (docs/domain.md §5); groups by variant or tenant when asked. The
   * whole hours and days of the window come from the drift rollup (driftStatsRollup.ts: count, avg, min,
   * max exact, percentiles from its sketch); a window the rollup cannot serve any of (small or recent
   * windows, a rollup missing or far behind) is answered by the exact query over raw rows below.
   */
  async driftStats(
    filter: ProvenanceFilter,
    groupBy: 'none' | 'variant' | 'tenant',
  ): Promise<DriftStats & { groups?: Record<string, DriftStats> }> {
    const rolled = await driftStatsFromRollup(this.pool, filter, groupBy, this.clock());
    return rolled ?? this.exactDriftStats(filter, groupBy);
  }

  /** The exact figures over raw rows (percentile_cont): every row of the window is read. */
  async exactDriftStats(
    filter: ProvenanceFilter,
    groupBy: 'none' | 'variant' | 'tenant',
  ): Promise<DriftStats & { groups?: Record<string, DriftStats> }> {
    const w = where(filter);
    const both = w.sql ? `${w.sql} and cost_delta is not null` : 'where cost_delta is not null';
    const { rows } = await this.pool.query<DriftStats>(
      `select ${STATS_COLUMNS} from provenance ${both}`,
      w.params,
    );
    const overall = numeric(rows[0]!);
    if (groupBy === 'none') return overall;
    const column = groupBy === 'variant' ? 'variant_slug' : 'tenant_id';
    const { rows: grouped } = await this.pool.query<DriftStats & { key: string | null }>(
      `select ${column} as key, ${STATS_COLUMNS} from provenance ${both} group by ${column} order by 1`,
      w.params,
    );
    return {
      ...overall,
      groups: Object.fromEntries(grouped.map(({ key, ...stats }) => [key ?? 'global', numeric(stats)])),
    };
  }
}

/**
 * pg returns numerics as strings and doubles as numbers; the API answers numbers (or null, also for a
 * figure beyond float8, which JSON cannot carry).
 */
function numeric(row: DriftStats): DriftStats {
  const n = (v: unknown, scale = 1) => {
    if (v === null || v === undefined) return null;
    const x = Number(v) * scale;
    return Number.isFinite(x) ? x : null;
  };
  return {
    total: Number(row.total),
    avg_delta: n(row.avg_delta),
    min_delta: n(row.min_delta),
    max_delta: n(row.max_delta),
    stddev_delta: n(row.stddev_delta),
    p50_delta: n(row.p50_delta, PERCENTILE_SCALE),
    p90_delta: n(row.p90_delta, PERCENTILE_SCALE),
    p99_delta: n(row.p99_delta, PERCENTILE_SCALE),
  };
}
