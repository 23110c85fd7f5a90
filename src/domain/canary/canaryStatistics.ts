import type { Verdict } from '../simulation/comparison';
import { floatRepr, formatFixed, formatPercent } from '../simulation/pythonFormat';
import { roundHalfEven } from '../simulation/roundHalfEven';

/**
 * Canary and divergence statistics (docs/domain.md §6), pure and linear in the number of samples: no spread of
 * an array onto the call stack (`Math.max(...costs)` throws past ~100 000 values), nothing that can
 * overflow (costs are finite; only differences and ratios of them are formed).
 */

/** One sample: V1 and V2 on the same input, compared (docs/domain.md §2.3). */
export interface CanarySample {
  readonly v1_cost_cents: number;
  readonly v2_cost_cents: number;
  readonly drift_score: number;
  /** null for a recorded pair without one (never a match) */
  readonly verdict: Verdict | null;
}

export interface CanaryThresholds {
  /** fail above this KL divergence */
  readonly kl_divergence: number;
  /** fail above this share of outliers (drift > 0.5) */
  readonly outlier_ratio: number;
  /** fail above this share of major_drift_samples (major_drift + mismatch) */
  readonly major_ratio: number;
}

/** docs/domain.md §6: KL > 0.2, outliers > 5 %, major drift samples > 10 %. */
export const DEFAULT_CANARY_THRESHOLDS: CanaryThresholds = {
  kl_divergence: 0.2,
  outlier_ratio: 0.05,
  major_ratio: 0.1,
};

/** Drift above this makes a sample an outlier. */
export const OUTLIER_DRIFT = 0.5;
const BINS = 10;
const EPSILON = 1e-10;

/** Smallest and largest of a list in one pass (no spread onto the stack). */
function extent(values: ArrayLike<number>, into: { min: number; max: number }): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < into.min) into.min = v;
    if (v > into.max) into.max = v;
  }
}

/**
 * KL(P_v1 ‖ Q_v2) of two cost distributions, exactly as docs/domain.md §6 defines it: values clamped ≥ 1; equal
 * min and max → 0; 10 equal-width bins over the combined range (the maximum falls in the last bin);
 * Σ over p > 1e-10 of p·ln((p + 1e-10)/(q + 1e-10)), floored at 0, 4 dp.
 */
export function klDivergence(v1: ArrayLike<number>, v2: ArrayLike<number>): number {
  if (v1.length === 0 || v2.length === 0) return 0;
  // plain loops: Float64Array.from with a mapping function takes V8's slow generic path (a third of a
  // 10 000-sample run's judging)
  const clamp = (values: ArrayLike<number>) => {
    const clamped = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) clamped[i] = Math.max(values[i]!, 1);
    return clamped;
  };
  const a = clamp(v1);
  const b = clamp(v2);
  const range = { min: Infinity, max: -Infinity };
  extent(a, range);
  extent(b, range);
  const { min, max } = range;
  if (min === max) return 0;
  const width = (max - min) / BINS;
  const histogram = (values: Float64Array) => {
    const counts = new Array<number>(BINS).fill(0);
    for (const v of values) counts[Math.min(BINS - 1, Math.floor((v - min) / width))]! += 1;
    return counts.map((c) => c / values.length);
  };
  const p = histogram(a);
  const q = histogram(b);
  let kl = 0.0;
  for (let i = 0; i < BINS; i++) {
    if (p[i]! > EPSILON) kl += p[i]! * Math.log((p[i]! + EPSILON) / (q[i]! + EPSILON));
  }
  return roundHalfEven(Math.max(0.0, kl), 4);
}

export interface CanaryMetrics {
  total_samples: number;
  matching_samples: number;
  minor_drift_samples: number;
  /** major_drift PLUS mismatch, as the original counted them (docs/domain.md §6) */
  major_drift_samples: number;
  /** of |Δcost|, sorted, element ⌊n/2⌋, not rounded */
  median_cost_diff: number;
  /** of |Δcost|, sorted, element ⌊0.9·n⌋, not rounded */
  p90_cost_diff: number;
  kl_divergence: number;
  /** samples whose drift exceeds 0.5 */
  outlier_count: number;
}

/** Element ⌊p·n⌋ of the sorted |Δcost| (0 when there are none). */
function sortedAbsDeltas(samples: readonly CanarySample[]): Float64Array {
  const diffs = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    diffs[i] = Math.abs(samples[i]!.v2_cost_cents - samples[i]!.v1_cost_cents);
  }
  return diffs.sort(); // a typed array sorts numerically
}

const at = (sorted: Float64Array, fraction: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;

const costsOf = (samples: readonly CanarySample[], key: 'v1_cost_cents' | 'v2_cost_cents') => {
  const costs = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) costs[i] = samples[i]![key];
  return costs;
};

export function canaryMetrics(samples: readonly CanarySample[]): CanaryMetrics {
  let matching = 0;
  let minor = 0;
  let major = 0;
  let outliers = 0;
  for (const s of samples) {
    if (s.verdict === 'match') matching++;
    else if (s.verdict === 'minor_drift') minor++;
    else if (s.verdict === 'major_drift' || s.verdict === 'mismatch') major++;
    if (s.drift_score > OUTLIER_DRIFT) outliers++;
  }
  const diffs = sortedAbsDeltas(samples);
  return {
    total_samples: samples.length,
    matching_samples: matching,
    minor_drift_samples: minor,
    major_drift_samples: major,
    median_cost_diff: at(diffs, 0.5),
    p90_cost_diff: at(diffs, 0.9),
    kl_divergence: klDivergence(costsOf(samples, 'v1_cost_cents'), costsOf(samples, 'v2_cost_cents')),
    outlier_count: outliers,
  };
}

export type CanaryStatus = 'pass' | 'fail' | 'skipped';

/**
 * The verdict of a canary run. No samples → `skipped` (inconclusive: never a failure, never a drift report —
 * a fix of the original). Otherwise every failed check is listed in `failure_reasons`, in this order and
 * with the original's texts (Python formatting; `.2%` rounds the exact value half to even).
 */
export function judgeCanary(
  metrics: CanaryMetrics,
  thresholds: CanaryThresholds = DEFAULT_CANARY_THRESHOLDS,
): { status: CanaryStatus; passed: boolean; failure_reasons: string[] } {
  const n = metrics.total_samples;
  if (n === 0) return { status: 'skipped', passed: false, failure_reasons: [] };
  const reasons: string[] = [];
  if (metrics.kl_divergence > thresholds.kl_divergence) {
    reasons.push(
      `KL divergence ${formatFixed(metrics.kl_divergence, 4)} > ${floatRepr(thresholds.kl_divergence)}`,
    );
  }
  const outlierPct = metrics.outlier_count / n;
  if (outlierPct > thresholds.outlier_ratio) {
    reasons.push(
      `Outlier percentage ${formatPercent(outlierPct, 2)} > ${formatPercent(thresholds.outlier_ratio, 2)}`,
    );
  }
  const majorPct = metrics.major_drift_samples / n;
  if (majorPct > thresholds.major_ratio) {
    // the original's text has the bound as a literal "10%"
    reasons.push(
      `Major drift samples ${formatPercent(majorPct, 2)} > ${formatFixed(thresholds.major_ratio * 100, 0)}%`,
    );
  }
  return {
    status: reasons.length > 0 ? 'fail' : 'pass',
    passed: reasons.length === 0,
    failure_reasons: reasons,
  };
}

/** The divergence report's statistics (docs/domain.md §6), with the original's rounding. */
export interface DivergenceMetrics {
  sample_count: number;
  /** 2 dp */
  delta_p50: number;
  /** 2 dp */
  delta_p90: number;
  /** 4 dp */
  kl_divergence: number;
  outlier_count: number;
  /** share of pairs whose stored drift_score > COSTSIM_DRIFT_THRESHOLD, 4 dp */
  fail_ratio: number;
  /** share of pairs whose verdict is `match` (a pair without one is not), 4 dp */
  matching_rate: number;
}

export function divergenceMetrics(
  samples: readonly CanarySample[],
  driftThreshold: number,
): DivergenceMetrics {
  const n = samples.length;
  if (n === 0) {
    return {
      sample_count: 0,
      delta_p50: 0.0,
      delta_p90: 0.0,
      kl_divergence: 0.0,
      outlier_count: 0,
      fail_ratio: 0.0,
      matching_rate: 0.0,
    };
  }
  const m = canaryMetrics(samples);
  let failing = 0;
  for (const s of samples) if (s.drift_score > driftThreshold) failing++;
  return {
    sample_count: n,
    delta_p50: roundHalfEven(m.median_cost_diff, 2),
    delta_p90: roundHalfEven(m.p90_cost_diff, 2),
    kl_divergence: m.kl_divergence,
    outlier_count: m.outlier_count,
    fail_ratio: roundHalfEven(failing / n, 4),
    matching_rate: roundHalfEven(m.matching_samples / n, 4),
  };
}
