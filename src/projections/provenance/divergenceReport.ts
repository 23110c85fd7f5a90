import type pg from 'pg';
import { type CanarySample, canaryMetrics } from '../../domain/canary/canaryStatistics';
import type { Verdict } from '../../domain/simulation/comparison';

export interface DivergenceReport {
  start_date: string;
  end_date: string;
  version: string;
  sample_count: number;
  /** |Δcost| of the pairs, sorted, element ⌊n/2⌋ (as the canary) */
  delta_p50: number;
  /** element ⌊0.9·n⌋ */
  delta_p90: number;
  kl_divergence: number;
  /** pairs whose drift exceeds 0.5 */
  outlier_count: number;
  /** share of pairs judged major_drift or mismatch (the canary's failing kinds) */
  fail_ratio: number;
  /** share of pairs judged match */
  matching_rate: number;
  /** the most recent pairs (at most 100) */
  detailed_samples: Array<{
    id: string;
    run_id: string | null;
    tenant_id: string | null;
    v1_cost: number;
    v2_cost: number;
    drift_score: number;
    verdict: string;
    created_at: string;
  }>;
}

const VERDICTS = new Set(['match', 'minor_drift', 'major_drift', 'mismatch']);

/**
 * GET /costsim/divergence (api.md, the original route): V1 vs V2 over the real pairs recorded by the
 * sandbox in a window, with the canary's statistics (domain.md §6) so the two reports mean the same.
 */
export async function divergenceReport(
  pool: pg.Pool,
  window: { from: Date; to: Date; tenant?: string },
  version: string,
): Promise<DivergenceReport> {
  const { rows } = await pool.query<{
    id: string;
    run_id: string | null;
    tenant_id: string | null;
    v1_cost: number;
    v2_cost: number;
    drift_score: number | null;
    verdict: string | null;
    created_at: Date;
  }>(
    `select id, run_id, tenant_id, v1_cost, v2_cost, drift_score, verdict, created_at from provenance
      where variant_slug = 'v2' and v1_cost is not null and v2_cost is not null
        and created_at >= $1 and created_at <= $2 and ($3::text is null or tenant_id = $3)
      order by created_at desc, id desc`,
    [window.from, window.to, window.tenant ?? null],
  );
  const samples: CanarySample[] = rows.map((r) => ({
    v1_cost_cents: r.v1_cost,
    v2_cost_cents: r.v2_cost,
    drift_score: r.drift_score ?? 0,
    verdict: (r.verdict !== null && VERDICTS.has(r.verdict) ? r.verdict : 'match') as Verdict,
  }));
  const m = canaryMetrics(samples);
  const n = Math.max(1, m.total_samples);
  const ratio = (k: number) => Number((k / n).toFixed(4));
  return {
    start_date: window.from.toISOString(),
    end_date: window.to.toISOString(),
    version,
    sample_count: m.total_samples,
    delta_p50: m.median_cost_diff,
    delta_p90: m.p90_cost_diff,
    kl_divergence: m.kl_divergence,
    outlier_count: m.outlier_count,
    fail_ratio: m.total_samples === 0 ? 0 : ratio(m.major_drift_samples + m.mismatch_samples),
    matching_rate: m.total_samples === 0 ? 0 : ratio(m.matching_samples),
    detailed_samples: rows.slice(0, 100).map((r) => ({
      id: r.id,
      run_id: r.run_id,
      tenant_id: r.tenant_id,
      v1_cost: r.v1_cost,
      v2_cost: r.v2_cost,
      drift_score: r.drift_score ?? 0,
      verdict: r.verdict ?? 'match',
      created_at: r.created_at.toISOString(),
    })),
  };
}
