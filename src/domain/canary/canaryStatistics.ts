import type { Verdict } from '../simulation/comparison';
import { roundHalfEven } from '../simulation/roundHalfEven';

/** One canary sample: V1 and V2 on the same input, compared (domain.md §2.3). */
export interface CanarySample {
  readonly v1_cost_cents: number;
  readonly v2_cost_cents: number;
  readonly drift_score: number;
  readonly verdict: Verdict;
}

export interface CanaryThresholds {
  /** fail above this KL divergence */
  readonly kl_divergence: number;
  /** fail above this share of outliers (drift > 0.5) */
  readonly outlier_ratio: number;
  /** fail above this share of major_drift + mismatch */
  readonly major_ratio: number;
}

/** domain.md §6: KL > 0.2, outliers > 5 %, (major + mismatch) > 10 %. */
export const DEFAULT_CANARY_THRESHOLDS: CanaryThresholds = {
  kl_divergence: 0.2,
  outlier_ratio: 0.05,
  major_ratio: 0.1,
};

const OUTLIER_DRIFT = 0.5;
const BINS = 10;
const EPSILON = 1e-10;

/**
 * KL(P_v1 ‖ Q_v2) of two cost distributions, exactly as domain.md §6 defines it: values clamped ≥ 1; equal
 * min and max → 0; 10 equal-width bins over the combined range (the maximum falls in the last bin);
 * Σ over p > 1e-10 of p·ln((p + 1e-10)/(q + 1e-10)), floored at 0, 4 dp.
 */
export function klDivergence(v1: readonly number[], v2: readonly number[]): number {
  if (v1.length === 0 || v2.length === 0) return 0;
  const a = v1.map((v) => Math.max(1, v));
  const b = v2.map((v) => Math.max(1, v));
  const min = Math.min(...a, ...b);
  const max = Math.max(...a, ...b);
  if (min === max) return 0;
  const width = (max - min) / BINS;
  const histogram = (values: number[]) => {
    const counts = new Array<number>(BINS).fill(0);
    for (const v of values) counts[Math.min(BINS - 1, Math.floor((v - min) / width))]! += 1;
    return counts.map((c) => c / values.length);
  };
  const p = histogram(a);
  const q = histogram(b);
  let kl = 0;
  for (let i = 0; i < BINS; i++) {
    if (p[i]! > EPSILON) kl += p[i]! * Math.log((p[i]! + EPSILON) / (q[i]! + EPSILON));
  }
  return roundHalfEven(Math.max(0, kl), 4);
}

export interface CanaryMetrics {
  total_samples: number;
  matching_samples: number;
  minor_drift_samples: number;
  major_drift_samples: number;
  mismatch_samples: number;
  /** of |Δcost|, sorted, element ⌊n/2⌋ */
  median_cost_diff: number;
  /** of |Δcost|, sorted, element ⌊0.9·n⌋ */
  p90_cost_diff: number;
  kl_divergence: number;
  /** samples whose drift exceeds 0.5 */
  outlier_count: number;
}

export function canaryMetrics(samples: readonly CanarySample[]): CanaryMetrics {
  const count = (v: Verdict) => samples.filter((s) => s.verdict === v).length;
  const diffs = samples.map((s) => Math.abs(s.v2_cost_cents - s.v1_cost_cents)).sort((x, y) => x - y);
  const at = (i: number) => diffs[Math.min(diffs.length - 1, i)] ?? 0;
  return {
    total_samples: samples.length,
    matching_samples: count('match'),
    minor_drift_samples: count('minor_drift'),
    major_drift_samples: count('major_drift'),
    mismatch_samples: count('mismatch'),
    median_cost_diff: at(Math.floor(diffs.length / 2)),
    p90_cost_diff: at(Math.floor(0.9 * diffs.length)),
    kl_divergence: klDivergence(
      samples.map((s) => s.v1_cost_cents),
      samples.map((s) => s.v2_cost_cents),
    ),
    outlier_count: samples.filter((s) => s.drift_score > OUTLIER_DRIFT).length,
  };
}

export type CanaryStatus = 'pass' | 'fail' | 'skipped';

/**
 * The verdict of a canary run. No samples → `skipped` (inconclusive: never a failure, never a drift report —
 * a fix of the original). Otherwise every failed check is listed in `failure_reasons`.
 */
export function judgeCanary(
  metrics: CanaryMetrics,
  thresholds: CanaryThresholds = DEFAULT_CANARY_THRESHOLDS,
): { status: CanaryStatus; passed: boolean; failure_reasons: string[] } {
  const n = metrics.total_samples;
  if (n === 0) return { status: 'skipped', passed: false, failure_reasons: [] };
  const reasons: string[] = [];
  if (metrics.kl_divergence > thresholds.kl_divergence) {
    reasons.push(`KL divergence ${metrics.kl_divergence} > ${thresholds.kl_divergence}`);
  }
  const outliers = metrics.outlier_count / n;
  if (outliers > thresholds.outlier_ratio) {
    reasons.push(
      `Outliers ${metrics.outlier_count}/${n} (${pct(outliers)}) > ${pct(thresholds.outlier_ratio)}`,
    );
  }
  const major = (metrics.major_drift_samples + metrics.mismatch_samples) / n;
  if (major > thresholds.major_ratio) {
    reasons.push(
      `Major drift or mismatch ${metrics.major_drift_samples + metrics.mismatch_samples}/${n} (${pct(major)}) > ${pct(thresholds.major_ratio)}`,
    );
  }
  return {
    status: reasons.length > 0 ? 'fail' : 'pass',
    passed: reasons.length === 0,
    failure_reasons: reasons,
  };
}

const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
