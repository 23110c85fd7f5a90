import {
  type CanarySample,
  canaryMetrics,
  judgeCanary,
  klDivergence,
} from '../../../src/domain/canary/canaryStatistics';
import { compareResults } from '../../../src/domain/simulation/comparison';

const sample = (v1: number, v2: number): CanarySample => {
  const c = compareResults(
    { feasible: true, estimated_cost_cents: v1, estimated_duration_ms: 0 },
    { feasible: true, estimated_cost_cents: v2, estimated_duration_ms: 0 },
  );
  return { v1_cost_cents: v1, v2_cost_cents: v2, drift_score: c.drift_score, verdict: c.verdict };
};

describe('canary statistics (domain.md §6)', () => {
  test('KL divergence: the test vectors of the spec', () => {
    expect(klDivergence([3, 7, 12, 40], [3, 7, 12, 40])).toBe(0);
    expect(klDivergence([100, 100, 100, 100, 100], [50, 150, 75, 125, 100])).toBe(1.6094);
    expect(klDivergence([0, 5, 5, 10], [0, 4, 4, 25])).toBe(5.4099);
  });

  test('KL divergence: equal min and max → 0; values below 1 are clamped to 1', () => {
    expect(klDivergence([5, 5], [5, 5, 5])).toBe(0);
    expect(klDivergence([0, 0.5], [1, 1])).toBe(0);
  });

  test('median and p90 of |Δcost| are the sorted elements ⌊n/2⌋ and ⌊0.9n⌋; outliers are drift > 0.5', () => {
    const samples = [sample(10, 10), sample(10, 12), sample(10, 13), sample(10, 30), sample(5, 5)];
    const m = canaryMetrics(samples); // |Δ| sorted: 0, 0, 2, 3, 20
    expect([m.median_cost_diff, m.p90_cost_diff]).toEqual([2, 20]);
    expect(m.outlier_count).toBe(1); // 10 → 30: pct 2 → drift 0.6
    // 10→12 drifts 0.12 (minor), 10→13 0.18 (major), 10→30 0.6 (mismatch)
    expect([m.matching_samples, m.minor_drift_samples, m.major_drift_samples, m.mismatch_samples]).toEqual([
      2, 1, 1, 1,
    ]);
  });

  test('fails on KL, outliers and major drift, listing every reason; passes otherwise', () => {
    const good = Array.from({ length: 20 }, () => sample(10, 10));
    expect(judgeCanary(canaryMetrics(good))).toEqual({ status: 'pass', passed: true, failure_reasons: [] });
    // 5 of 20 at three times the cost: KL ln(1/0.75) = 0.2877, 25 % outliers, 25 % mismatches
    const bad = [...good.slice(0, 15), ...Array.from({ length: 5 }, () => sample(10, 30))];
    const verdict = judgeCanary(canaryMetrics(bad));
    expect(verdict.status).toBe('fail');
    expect(verdict.failure_reasons).toEqual([
      'KL divergence 0.2877 > 0.2',
      'Outliers 5/20 (25.0%) > 5.0%',
      'Major drift or mismatch 5/20 (25.0%) > 10.0%',
    ]);
    // below every threshold: 1 of 20 off (KL ln(1/0.95) = 0.0513, 5 % outliers is not above 5 %)
    const fine = [...good.slice(0, 19), sample(10, 30)];
    expect(judgeCanary(canaryMetrics(fine)).status).toBe('pass');
  });

  test('no samples: skipped (inconclusive), never a failure', () => {
    expect(judgeCanary(canaryMetrics([]))).toEqual({ status: 'skipped', passed: false, failure_reasons: [] });
  });
});
