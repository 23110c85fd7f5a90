import { type CanaryMetrics, judgeCanary } from '../../../src/domain/canary/canaryStatistics';
import {
  type CanaryRunThresholds,
  NO_SAMPLES_REASON,
  judgeCanaryRun,
} from '../../../src/domain/canary/canaryReport';
import type { CanarySample } from '../../../src/domain/canary/canaryStatistics';

/** The judge (docs/domain.md §6 vectors and texts), and a run's report built from it. */
const metrics = (over: Partial<CanaryMetrics>): CanaryMetrics => ({
  total_samples: 100,
  matching_samples: 96,
  minor_drift_samples: 0,
  major_drift_samples: 0,
  median_cost_diff: 0,
  p90_cost_diff: 0,
  kl_divergence: 0,
  outlier_count: 0,
  ...over,
});

describe('the canary judge (domain.md §6 must-show vectors)', () => {
  test('KL 0.1 with 2/100 outliers and 2/100 major drift samples → pass, no reasons', () => {
    expect(judgeCanary(metrics({ kl_divergence: 0.1, outlier_count: 2, major_drift_samples: 2 }))).toEqual({
      status: 'pass',
      passed: true,
      failure_reasons: [],
    });
  });

  test('KL 0.5 → fail whose first reason is "KL divergence 0.5000 > 0.2"', () => {
    const verdict = judgeCanary(metrics({ kl_divergence: 0.5, outlier_count: 10, major_drift_samples: 20 }));
    expect(verdict.status).toBe('fail');
    expect(verdict.failure_reasons[0]).toBe('KL divergence 0.5000 > 0.2');
    expect(verdict.failure_reasons).toEqual([
      'KL divergence 0.5000 > 0.2',
      'Outlier percentage 10.00% > 5.00%',
      'Major drift samples 20.00% > 10%',
    ]);
  });

  test('10/100 outliers → "Outlier percentage 10.00% > 5.00%"', () => {
    expect(judgeCanary(metrics({ outlier_count: 10 })).failure_reasons).toEqual([
      'Outlier percentage 10.00% > 5.00%',
    ]);
  });
});

const thresholds = (paired_alpha: number | null = null): CanaryRunThresholds => ({
  kl_divergence: 0.2,
  outlier_ratio: 0.05,
  major_ratio: 0.1,
  paired_alpha,
});
const facts = {
  runId: 'run-1',
  trigger: 'manual' as const,
  startedAt: new Date('2026-12-01T03:00:00Z'),
  completedAt: new Date('2026-12-01T03:00:02Z'),
};
const sample = (v1: number, v2: number, drift: number): CanarySample => ({
  v1_cost_cents: v1,
  v2_cost_cents: v2,
  drift_score: drift,
  verdict:
    drift <= 0.05 ? 'match' : drift <= 0.15 ? 'minor_drift' : drift <= 0.2 ? 'major_drift' : 'mismatch',
});

describe('a run report', () => {
  test('no samples → skipped (inconclusive), passed false, no paired test', () => {
    const report = judgeCanaryRun(facts, {
      samples: [],
      provenanceSamples: 0,
      golden: [],
      thresholds: thresholds(),
    });
    expect(report).toMatchObject({
      status: 'skipped',
      passed: false,
      total_samples: 0,
      failure_reasons: [NO_SAMPLES_REASON],
      paired_test: null,
      failed_on_outliers_only: false,
    });
  });

  test('the report records the thresholds and statistics that decided it', () => {
    const samples = Array.from({ length: 20 }, () => sample(10, 10, 0));
    const report = judgeCanaryRun(facts, {
      samples,
      provenanceSamples: 15,
      golden: [],
      thresholds: thresholds(0.05),
    });
    expect(report).toMatchObject({
      run_id: 'run-1',
      status: 'pass',
      passed: true,
      thresholds: { kl_divergence: 0.2, outlier_ratio: 0.05, major_ratio: 0.1, paired_alpha: 0.05 },
      paired_test: { n: 0, zero_differences: 20, p_value: 1, method: 'none' },
      sources: { provenance_samples: 15, dataset_samples: 5 },
    });
  });

  test('the optional paired rule: V2 systematically 1¢ dearer on 40 pairs fails at α = 0.01 only', () => {
    // 40 pairs, V2 = V1 + 1 (drift 0.6·1/100 = 0.006, a match): KL, outliers and major drift all pass.
    const samples = Array.from({ length: 40 }, (_, i) => sample(100 + i, 101 + i, 0.006));
    const reported = judgeCanaryRun(facts, {
      samples,
      provenanceSamples: 40,
      golden: [],
      thresholds: thresholds(),
    });
    expect(reported.status).toBe('pass');
    const judged = judgeCanaryRun(facts, {
      samples,
      provenanceSamples: 40,
      golden: [],
      thresholds: thresholds(0.01),
    });
    expect(judged.status).toBe('fail');
    expect(judged.failure_reasons).toHaveLength(1);
    expect(judged.failure_reasons[0]).toMatch(/^Paired test p-value [0-9.e-]+ < 0\.01$/);
    expect(judged.paired_test!.effect_size).toBe(1);
  });

  test('a failure on outliers alone is flagged (it must not reset the breaker counter); any other reason is not', () => {
    // 6 outliers of 100 (> 5 %); they are mismatches too, but 6 % major drift is within 10 %.
    const samples = [
      ...Array.from({ length: 94 }, () => sample(10, 10, 0)),
      ...Array.from({ length: 6 }, () => sample(10, 10, 0.6)),
    ];
    const onlyOutliers = judgeCanaryRun(facts, {
      samples,
      provenanceSamples: 100,
      golden: [],
      thresholds: thresholds(),
    });
    expect(onlyOutliers.failure_reasons).toEqual(['Outlier percentage 6.00% > 5.00%']);
    expect(onlyOutliers.failed_on_outliers_only).toBe(true);
    const more = [...samples, ...Array.from({ length: 6 }, () => sample(10, 10, 0.6))];
    const both = judgeCanaryRun(facts, {
      samples: more,
      provenanceSamples: 106,
      golden: [],
      thresholds: thresholds(),
    });
    expect(both.failure_reasons.length).toBe(2);
    expect(both.failed_on_outliers_only).toBe(false);
  });
});
