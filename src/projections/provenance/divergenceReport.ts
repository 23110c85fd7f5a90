import type pg from 'pg';
import {
  type CanarySample,
  type DivergenceMetrics,
  divergenceMetrics,
} from '../../domain/canary/canaryStatistics';
import { type Verdict, VERDICTS } from '../../domain/simulation/comparison';

interface DetailedRow {
  id: string;
  run_id: string | null;
  tenant_id: string | null;
  input_hash: string;
  v1_cost: number;
  v2_cost: number;
  cost_delta: number;
  drift_score: number | null;
  verdict: string | null;
  created_at: Date;
}

export interface DivergenceReport extends DivergenceMetrics {
  start_date: string;
  end_date: string;
  version: string;
  /** the most recent pairs (at most 100) */
  detailed_samples: Array<Omit<DetailedRow, 'created_at'> & { created_at: string }>;
}

const KNOWN_VERDICTS: ReadonlySet<string> = new Set(VERDICTS);
const DETAILED = 100;

/** Pairs recorded by the sandbox in a window: V2 records that carry both costs. */
const PAIRS = `from provenance
  where variant_slug = 'v2' and v1_cost is not null and v2_cost is not null
    and created_at >= $1 and created_at <= $2 and ($3::text is null or tenant_id = $3)`;

/**
 * GET /costsim/divergence (docs/api.md, the original route): V1 vs V2 over the real pairs recorded by the
 * sandbox in a window, with the canary's statistics and the original's rounding (docs/domain.md §6). The
 * statistics read four columns as arrays (no row objects), so a window of any size costs a few numbers per
 * pair; the detail list is its own LIMIT query.
 */
export async function divergenceReport(
  pool: pg.Pool,
  window: { from: Date; to: Date; tenant?: string },
  options: { version: string; driftThreshold: number },
): Promise<DivergenceReport> {
  const params = [window.from, window.to, window.tenant ?? null];
  const [stats, detail] = await Promise.all([
    pool.query<[number, number, number | null, string | null]>({
      text: `select v1_cost, v2_cost, drift_score, verdict ${PAIRS}`,
      values: params,
      rowMode: 'array',
    }),
    pool.query<DetailedRow>(
      `select id, run_id, tenant_id, input_hash, v1_cost, v2_cost, cost_delta, drift_score, verdict, created_at
       ${PAIRS} order by created_at desc, id desc limit ${DETAILED}`,
      params,
    ),
  ]);
  const samples: CanarySample[] = stats.rows.map(([v1, v2, drift, verdict]) => ({
    v1_cost_cents: v1,
    v2_cost_cents: v2,
    drift_score: drift ?? 0,
    verdict: verdict !== null && KNOWN_VERDICTS.has(verdict) ? (verdict as Verdict) : null,
  }));
  return {
    start_date: window.from.toISOString(),
    end_date: window.to.toISOString(),
    version: options.version,
    ...divergenceMetrics(samples, options.driftThreshold),
    detailed_samples: detail.rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() })),
  };
}
