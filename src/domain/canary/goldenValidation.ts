import { roundHalfEven } from '../simulation/roundHalfEven';
import type { GoldenDataset, GoldenThresholds } from './goldenDataset';

/** What V2 answered for one golden sample, or that it threw (timed out, failed, answered garbage). */
export type GoldenOutcome =
  | {
      readonly kind: 'answered';
      readonly estimated_cost_cents: number;
      readonly feasible: boolean;
      readonly confidence_score: number;
    }
  | { readonly kind: 'threw' };

export type GoldenMetric = 'mean_error' | 'median_error' | 'std_deviation' | 'outlier_pct' | 'drift_score';

/** A metric over its threshold: what makes a dataset `not_acceptable`, named so an operator sees why. */
export interface ExceededMetric {
  readonly metric: GoldenMetric;
  /** unrounded, as compared */
  readonly value: number;
  readonly threshold: number;
}

/** docs/domain.md §6 "Golden comparison" result; `details.exceeded` is ours (every metric over its threshold). */
export interface GoldenValidationResult {
  readonly dataset_id: string;
  readonly dataset_name: string;
  readonly sample_count: number;
  readonly mean_error: number;
  readonly median_error: number;
  readonly std_deviation: number;
  readonly outlier_pct: number;
  readonly drift_score: number;
  readonly verdict: 'acceptable' | 'not_acceptable';
  readonly details: {
    readonly thresholds: GoldenThresholds;
    readonly errors_count: number;
    readonly outliers_count: number;
    readonly exceeded: readonly ExceededMetric[];
  };
}

const THRESHOLD_OF: Readonly<Record<GoldenMetric, keyof GoldenThresholds>> = {
  mean_error: 'max_mean_error',
  median_error: 'max_median_error',
  std_deviation: 'max_std_deviation',
  outlier_pct: 'max_outlier_pct',
  drift_score: 'max_drift_score',
};

/**
 * docs/domain.md §6, exactly: error = |cost − expected| for samples that give an expected cost; outliers =
 * feasibility mismatches + confidences below the sample's minimum + samples that threw (one sample may
 * count more than once, as in the original); mean, median (element ⌊n/2⌋ of the sorted errors) and
 * POPULATION standard deviation of the errors (0 when none); drift = min(1, 0.3·mean/max_mean +
 * 0.3·median/max_median + 0.2·std/max_std + 0.2·outlier_pct/max_outlier). Acceptable iff all five metrics
 * are ≤ their thresholds (compared unrounded; reported to 4 dp). `outcomes[i]` is V2 on `samples[i]`.
 */
export function validateGolden(
  dataset: GoldenDataset,
  outcomes: readonly GoldenOutcome[],
): GoldenValidationResult {
  if (outcomes.length !== dataset.samples.length) {
    throw new RangeError(`${dataset.id}: ${outcomes.length} outcomes for ${dataset.samples.length} samples`);
  }
  const errors: number[] = [];
  let outliers = 0;
  dataset.samples.forEach((sample, i) => {
    const outcome = outcomes[i]!;
    if (outcome.kind === 'threw') {
      outliers++;
      return;
    }
    if (sample.expected_cost_cents !== undefined) {
      errors.push(Math.abs(outcome.estimated_cost_cents - sample.expected_cost_cents));
    }
    if (sample.expected_feasible !== undefined && outcome.feasible !== sample.expected_feasible) outliers++;
    if (
      sample.expected_confidence_min !== undefined &&
      outcome.confidence_score < sample.expected_confidence_min
    ) {
      outliers++;
    }
  });
  const n = errors.length;
  const mean = n === 0 ? 0 : errors.reduce((a, b) => a + b, 0) / n;
  const sorted = [...errors].sort((a, b) => a - b);
  const median = n === 0 ? 0 : sorted[Math.floor(n / 2)]!;
  const std = n === 0 ? 0 : Math.sqrt(errors.reduce((a, e) => a + (e - mean) ** 2, 0) / n);
  const sampleCount = dataset.samples.length;
  const outlierPct = sampleCount === 0 ? 0 : outliers / sampleCount;
  const t = dataset.thresholds;
  const drift = Math.min(
    1,
    (0.3 * mean) / t.max_mean_error +
      (0.3 * median) / t.max_median_error +
      (0.2 * std) / t.max_std_deviation +
      (0.2 * outlierPct) / t.max_outlier_pct,
  );
  const values: Record<GoldenMetric, number> = {
    mean_error: mean,
    median_error: median,
    std_deviation: std,
    outlier_pct: outlierPct,
    drift_score: drift,
  };
  const exceeded = (Object.keys(THRESHOLD_OF) as GoldenMetric[])
    .filter((metric) => values[metric] > t[THRESHOLD_OF[metric]])
    .map((metric) => ({ metric, value: values[metric], threshold: t[THRESHOLD_OF[metric]] }));
  return {
    dataset_id: dataset.id,
    dataset_name: dataset.name,
    sample_count: sampleCount,
    mean_error: roundHalfEven(mean, 4),
    median_error: roundHalfEven(median, 4),
    std_deviation: roundHalfEven(std, 4),
    outlier_pct: roundHalfEven(outlierPct, 4),
    drift_score: roundHalfEven(drift, 4),
    verdict: exceeded.length === 0 ? 'acceptable' : 'not_acceptable',
    details: { thresholds: t, errors_count: n, outliers_count: outliers, exceeded },
  };
}
