import { roundHalfEven } from './roundHalfEven';

export type Verdict = 'match' | 'minor_drift' | 'major_drift' | 'mismatch';
export const VERDICTS: readonly Verdict[] = ['match', 'minor_drift', 'major_drift', 'mismatch'];

/**
 * Verdict bounds (docs/domain.md §2.3), inclusive: ≤ 0.05 match, ≤ `warning` minor_drift, ≤ `drift` major_drift,
 * else mismatch. `warning` is COSTSIM_DRIFT_WARNING_THRESHOLD, `drift` COSTSIM_DRIFT_THRESHOLD — the same
 * threshold the breaker counts failures above, so a mismatch is exactly a drift the breaker counts.
 */
export interface VerdictBounds {
  readonly warning: number;
  readonly drift: number;
}

export const MATCH_BOUND = 0.05;

/** The comparison object, in full and in the original's field order (its clients read it). */
export interface Comparison {
  readonly verdict: Verdict;
  readonly v1_cost_cents: number;
  readonly v2_cost_cents: number;
  /** v2 − v1 */
  readonly cost_delta_cents: number;
  /** |delta| / max(v1, 1), 4 dp; 1.0 when V1 costs nothing and V2 something (fix of the original) */
  readonly cost_delta_pct: number;
  readonly v1_duration_ms: number;
  readonly v2_duration_ms: number;
  /** v2 − v1; not part of the drift score */
  readonly duration_delta_ms: number;
  readonly v1_feasible: boolean;
  readonly v2_feasible: boolean;
  readonly feasibility_match: boolean;
  /** 0.6·min(pct, 1) + 0.4·(feasibility mismatch), 4 dp */
  readonly drift_score: number;
  readonly details: {
    readonly v1_status: string;
    readonly v2_status: string;
    readonly v2_confidence: number;
    readonly v1_risks_count: number;
    readonly v2_risks_count: number;
  };
}

export interface ComparedV1 {
  readonly feasible: boolean;
  readonly status: string;
  readonly estimated_cost_cents: number;
  readonly estimated_duration_ms: number;
  readonly risks: readonly unknown[];
}

export interface ComparedV2 extends ComparedV1 {
  readonly confidence_score: number;
}

export interface ComparisonOutcome {
  readonly comparison: Comparison;
  /**
   * The drift before rounding: what the verdict was decided on, and what the breaker is told, so that
   * "mismatch" and "the breaker counts a failure" are the same judgement (a drift of 0.20004 prints as
   * 0.2 but is above a 0.2 threshold).
   */
  readonly drift: number;
}

export function verdictOf(drift: number, bounds: VerdictBounds): Verdict {
  if (drift <= MATCH_BOUND) return 'match';
  if (drift <= bounds.warning) return 'minor_drift';
  if (drift <= bounds.drift) return 'major_drift';
  return 'mismatch';
}

/**
 * docs/domain.md §2.3. The verdict is decided on the UNROUNDED drift, as the original did: a drift that prints
 * as 0.2 may be 0.19999999999999998 (V1 3¢, V2 4¢: 0.6 × 1/3), and the bounds are compared with that.
 */
export function compareResults(v1: ComparedV1, v2: ComparedV2, bounds: VerdictBounds): ComparisonOutcome {
  const v1Cost = v1.estimated_cost_cents;
  const v2Cost = v2.estimated_cost_cents;
  const delta = v2Cost - v1Cost;
  const pct = v1Cost === 0 && v2Cost > 0 ? 1.0 : Math.abs(delta) / Math.max(v1Cost, 1);
  const feasibilityMatch = v1.feasible === v2.feasible;
  const drift = 0.6 * Math.min(pct, 1.0) + 0.4 * (feasibilityMatch ? 0.0 : 1.0);
  return {
    drift,
    comparison: {
      verdict: verdictOf(drift, bounds),
      v1_cost_cents: v1Cost,
      v2_cost_cents: v2Cost,
      cost_delta_cents: delta,
      cost_delta_pct: roundHalfEven(pct, 4),
      v1_duration_ms: v1.estimated_duration_ms,
      v2_duration_ms: v2.estimated_duration_ms,
      duration_delta_ms: v2.estimated_duration_ms - v1.estimated_duration_ms,
      v1_feasible: v1.feasible,
      v2_feasible: v2.feasible,
      feasibility_match: feasibilityMatch,
      drift_score: roundHalfEven(drift, 4),
      details: {
        v1_status: v1.status,
        v2_status: v2.status,
        v2_confidence: v2.confidence_score,
        v1_risks_count: v1.risks.length,
        v2_risks_count: v2.risks.length,
      },
    },
  };
}
