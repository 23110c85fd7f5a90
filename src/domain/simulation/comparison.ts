import { roundHalfEven } from './roundHalfEven';

export type Verdict = 'match' | 'minor_drift' | 'major_drift' | 'mismatch';

export interface Comparison {
  readonly verdict: Verdict;
  readonly v1_cost_cents: number;
  readonly v2_cost_cents: number;
  /** v2 − v1 */
  readonly cost_delta_cents: number;
  /** |delta| / max(v1, 1), 4 dp; 1.0 when V1 costs nothing and V2 something (fix of the original) */
  readonly cost_delta_pct: number;
  /** v2 − v1; not part of the drift score */
  readonly duration_delta_ms: number;
  /** 0.6·min(pct, 1) + 0.4·(feasibility mismatch), 4 dp */
  readonly drift_score: number;
  readonly feasibility_match: boolean;
}

interface Compared {
  feasible: boolean;
  estimated_cost_cents: number;
  estimated_duration_ms: number;
}

/** Verdict bounds, inclusive (domain.md §2.3). */
const MATCH = 0.05;
const MINOR = 0.15;
const MAJOR = 0.3;

/**
 * domain.md §2.3. The verdict is decided on the UNROUNDED drift, as the original did: a drift that prints
 * as 0.2 may be 0.19999999999999998 (V1 3¢, V2 4¢: 0.6 × 1/3), and the bounds are compared with that.
 */
export function compareResults(v1: Compared, v2: Compared): Comparison {
  const delta = v2.estimated_cost_cents - v1.estimated_cost_cents;
  const pct =
    v1.estimated_cost_cents === 0 && v2.estimated_cost_cents > 0
      ? 1
      : Math.abs(delta) / Math.max(v1.estimated_cost_cents, 1);
  const feasibilityMatch = v1.feasible === v2.feasible;
  const drift = 0.6 * Math.min(pct, 1) + 0.4 * (feasibilityMatch ? 0 : 1);
  return {
    verdict: verdictOf(drift),
    v1_cost_cents: v1.estimated_cost_cents,
    v2_cost_cents: v2.estimated_cost_cents,
    cost_delta_cents: delta,
    cost_delta_pct: roundHalfEven(pct, 4),
    duration_delta_ms: v2.estimated_duration_ms - v1.estimated_duration_ms,
    drift_score: roundHalfEven(drift, 4),
    feasibility_match: feasibilityMatch,
  };
}

export function verdictOf(drift: number): Verdict {
  if (drift <= MATCH) return 'match';
  if (drift <= MINOR) return 'minor_drift';
  if (drift <= MAJOR) return 'major_drift';
  return 'mismatch';
}
