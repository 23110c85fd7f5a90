import { floatRepr } from '../simulation/pythonFormat';
import {
  type CanaryMetrics,
  type CanarySample,
  type CanaryThresholds,
  canaryMetrics,
  judgeCanary,
} from './canaryStatistics';
import type { GoldenValidationResult } from './goldenValidation';
import { type PairedTestResult, wilcoxonSignedRank } from './pairedTest';

/** A completed run's status; one list, so the breaker's validation and the report agree. */
export const CANARY_RUN_STATUSES = ['pass', 'fail', 'error', 'skipped'] as const;
export type CanaryRunStatus = (typeof CANARY_RUN_STATUSES)[number];

/** The thresholds a run was judged with: recorded in its report, so the verdict is explainable from it alone. */
export interface CanaryRunThresholds extends CanaryThresholds {
  /** COSTSIM_CANARY_PAIRED_ALPHA; null = the paired test is reported only */
  readonly paired_alpha: number | null;
}

export type CanaryTrigger = 'manual' | 'schedule' | 'cli' | 'recovery';

/** docs/domain.md §6 report, plus the statistics and thresholds that decided it and where its samples came from. */
export interface CanaryReport extends CanaryMetrics {
  readonly run_id: string;
  /** when the run completed (ISO) */
  readonly timestamp: string;
  readonly started_at: string;
  readonly trigger: CanaryTrigger;
  readonly status: CanaryRunStatus;
  readonly passed: boolean;
  readonly failure_reasons: readonly string[];
  readonly golden_comparison: readonly GoldenValidationResult[];
  readonly thresholds: CanaryRunThresholds;
  /** null when there were no samples */
  readonly paired_test: PairedTestResult | null;
  readonly sources: { readonly provenance_samples: number; readonly dataset_samples: number };
  /**
   * True when the run failed and every reason was the outlier share: such a failure must not reset the
   * breaker's drift counter (docs/domain.md §6 fixes).
   */
  readonly failed_on_outliers_only: boolean;
}

export const LEADER_SKIP_REASON = 'Skipped: another instance is the leader';
export const NO_SAMPLES_REASON = 'Skipped: no samples (no recent sandbox provenance and no datasets)';

export interface CanaryRunFacts {
  readonly runId: string;
  readonly trigger: CanaryTrigger;
  readonly startedAt: Date;
  readonly completedAt: Date;
}

const EMPTY_METRICS: CanaryMetrics = {
  total_samples: 0,
  matching_samples: 0,
  minor_drift_samples: 0,
  major_drift_samples: 0,
  median_cost_diff: 0,
  p90_cost_diff: 0,
  kl_divergence: 0,
  outlier_count: 0,
};

/** `Paired test p-value 0.0012 < 0.01` (4 significant digits: p-values span many orders of magnitude). */
export const pairedReason = (p: number, alpha: number): string =>
  `Paired test p-value ${Number(p.toPrecision(4)).toString()} < ${floatRepr(alpha)}`;

const OUTLIER_PREFIX = 'Outlier percentage ';

/**
 * The verdict of a completed run (pure): docs/domain.md §6 metrics and reasons (canaryStatistics), then the
 * optional paired rule. No samples → `skipped`, never a failure.
 */
export function judgeCanaryRun(
  facts: CanaryRunFacts,
  input: {
    samples: readonly CanarySample[];
    provenanceSamples: number;
    golden: readonly GoldenValidationResult[];
    thresholds: CanaryRunThresholds;
  },
): CanaryReport {
  const { samples, thresholds } = input;
  const metrics = canaryMetrics(samples);
  const judged = judgeCanary(metrics, thresholds);
  const paired =
    samples.length === 0 ? null : wilcoxonSignedRank(samples.map((s) => s.v2_cost_cents - s.v1_cost_cents));
  const reasons = [...judged.failure_reasons];
  if (
    paired &&
    thresholds.paired_alpha !== null &&
    paired.n > 0 &&
    paired.p_value < thresholds.paired_alpha
  ) {
    reasons.push(pairedReason(paired.p_value, thresholds.paired_alpha));
  }
  const status: CanaryRunStatus =
    judged.status === 'skipped' ? 'skipped' : reasons.length > 0 ? 'fail' : 'pass';
  return {
    ...base(facts, thresholds),
    ...metrics,
    status,
    passed: status === 'pass',
    failure_reasons: status === 'skipped' ? [NO_SAMPLES_REASON] : reasons,
    golden_comparison: input.golden,
    paired_test: paired,
    sources: {
      provenance_samples: input.provenanceSamples,
      dataset_samples: samples.length - input.provenanceSamples,
    },
    failed_on_outliers_only:
      status === 'fail' && reasons.length > 0 && reasons.every((r) => r.startsWith(OUTLIER_PREFIX)),
  };
}

function base(facts: CanaryRunFacts, thresholds: CanaryRunThresholds) {
  return {
    run_id: facts.runId,
    timestamp: facts.completedAt.toISOString(),
    started_at: facts.startedAt.toISOString(),
    trigger: facts.trigger,
    thresholds,
  };
}

/** A run that could not be judged (ran out of time, lost leadership, V1/V2 threw): never a pass. */
export function errorReport(
  facts: CanaryRunFacts,
  thresholds: CanaryRunThresholds,
  reason: string,
): CanaryReport {
  return {
    ...base(facts, thresholds),
    ...EMPTY_METRICS,
    status: 'error',
    passed: false,
    failure_reasons: [reason],
    golden_comparison: [],
    paired_test: null,
    sources: { provenance_samples: 0, dataset_samples: 0 },
    failed_on_outliers_only: false,
  };
}

/** A replica that does not lead answers a run request with this (the original's text); it is not recorded. */
export function leaderSkipReport(facts: CanaryRunFacts, thresholds: CanaryRunThresholds): CanaryReport {
  return { ...errorReport(facts, thresholds, LEADER_SKIP_REASON), status: 'skipped' };
}
