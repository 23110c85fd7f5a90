import {
  type CanarySample,
  canaryMetrics,
  divergenceMetrics,
  judgeCanary,
  klDivergence,
} from '../../../src/domain/canary/canaryStatistics';
import { type ComparedV2, compareResults } from '../../../src/domain/simulation/comparison';

const side = (cost: number): ComparedV2 => ({
  feasible: true,
  status: 'success',
  estimated_cost_cents: cost,
  estimated_duration_ms: 0,
  risks: [],
  confidence_score: 1,
});
const sample = (v1: number, v2: number): CanarySample => {
  const { comparison } = compareResults(side(v1), side(v2), { warning: 0.15, drift: 0.2 });
  return {
    v1_cost_cents: v1,
    v2_cost_cents: v2,
    drift_score: comparison.drift_score,
    verdict: comparison.verdict,
  };
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
  });

  test('major_drift_samples counts major_drift AND mismatch, as the original did', () => {
    // 10→12 drifts 0.12 (minor), 10→13 0.18 (major), 10→30 0.6 (mismatch), 10→14 0.24 (mismatch)
    const m = canaryMetrics([sample(10, 10), sample(10, 12), sample(10, 13), sample(10, 30), sample(10, 14)]);
    expect([m.matching_samples, m.minor_drift_samples, m.major_drift_samples]).toEqual([1, 1, 3]);
  });

  test('failure reasons: every one, in order, with the original texts (CPython formatting)', () => {
    const good = Array.from({ length: 20 }, () => sample(10, 10));
    expect(judgeCanary(canaryMetrics(good))).toEqual({ status: 'pass', passed: true, failure_reasons: [] });
    // 5 of 20 at three times the cost: KL ln(1/0.75) = 0.2877, 25 % outliers, 25 % major drift samples
    // python3 -c "print(f'{0.2877:.4f}', f'{0.25:.2%}', f'{0.05:.2%}')" → 0.2877 25.00% 5.00%
    const bad = [...good.slice(0, 15), ...Array.from({ length: 5 }, () => sample(10, 30))];
    const verdict = judgeCanary(canaryMetrics(bad));
    expect(verdict.status).toBe('fail');
    expect(verdict.failure_reasons).toEqual([
      'KL divergence 0.2877 > 0.2',
      'Outlier percentage 25.00% > 5.00%',
      'Major drift samples 25.00% > 10%',
    ]);
    // below every threshold: 1 of 20 off (KL 0.0513, 5 % outliers is not above 5 %, 5 % major)
    expect(judgeCanary(canaryMetrics([...good.slice(0, 19), sample(10, 30)])).status).toBe('pass');
  });

  test('.2% ties round half to even on the exact value: 1 outlier in 16 is 6.25%, 1 in 800 is 0.12%', () => {
    // python3 -c "print(f'{1/16:.2%}', f'{0.00125:.2%}')" → 6.25% 0.12%
    const of = (outliers: number, n: number) =>
      judgeCanary(
        {
          total_samples: n,
          matching_samples: n,
          minor_drift_samples: 0,
          major_drift_samples: 0,
          median_cost_diff: 0,
          p90_cost_diff: 0,
          kl_divergence: 0,
          outlier_count: outliers,
        },
        { kl_divergence: 0.2, outlier_ratio: 0.001, major_ratio: 0.1 },
      ).failure_reasons;
    expect(of(1, 16)).toEqual(['Outlier percentage 6.25% > 0.10%']);
    expect(of(1, 800)).toEqual(['Outlier percentage 0.12% > 0.10%']);
  });

  test('no samples: skipped (inconclusive), never a failure', () => {
    expect(judgeCanary(canaryMetrics([]))).toEqual({ status: 'skipped', passed: false, failure_reasons: [] });
  });
});

describe('divergence statistics (domain.md §6)', () => {
  test('fail_ratio from stored drift scores > COSTSIM_DRIFT_THRESHOLD; matching_rate: a pair without a verdict is not a match', () => {
    const samples: CanarySample[] = [
      { v1_cost_cents: 10, v2_cost_cents: 10, drift_score: 0, verdict: 'match' },
      { v1_cost_cents: 10, v2_cost_cents: 10, drift_score: 0, verdict: null },
      { v1_cost_cents: 10, v2_cost_cents: 13, drift_score: 0.18, verdict: 'major_drift' },
      { v1_cost_cents: 10, v2_cost_cents: 14, drift_score: 0.24, verdict: 'mismatch' },
      { v1_cost_cents: 3, v2_cost_cents: 4, drift_score: 0.2, verdict: 'major_drift' },
      { v1_cost_cents: 10, v2_cost_cents: 30, drift_score: 0.6, verdict: 'mismatch' },
    ];
    expect(divergenceMetrics(samples, 0.2)).toMatchObject({
      sample_count: 6,
      fail_ratio: 0.3333, // 0.24 and 0.6 (0.2 is not above 0.2)
      matching_rate: 0.1667,
      outlier_count: 1,
      delta_p50: 3, // |Δ| sorted 0, 0, 1, 3, 4, 20: element 3
      delta_p90: 20,
    });
    expect(divergenceMetrics(samples, 0.15).fail_ratio).toBe(0.6667);
  });

  test('the original rounding: deltas 2 dp (half to even), ratios 4 dp', () => {
    const m = divergenceMetrics(
      [
        { v1_cost_cents: 0, v2_cost_cents: 0.125, drift_score: 0, verdict: 'match' },
        { v1_cost_cents: 0, v2_cost_cents: 0.125, drift_score: 0, verdict: 'match' },
        { v1_cost_cents: 0, v2_cost_cents: 0.125, drift_score: 0.3, verdict: 'mismatch' },
      ],
      0.2,
    );
    expect([m.delta_p50, m.delta_p90, m.fail_ratio, m.matching_rate]).toEqual([0.12, 0.12, 0.3333, 0.6667]);
  });

  test('any size: 60 000 and 1 000 000 samples (no spread onto the stack), nothing overflows', () => {
    for (const n of [60_000, 1_000_000]) {
      const samples: CanarySample[] = Array.from({ length: n }, (_, i) => ({
        v1_cost_cents: i % 1000,
        v2_cost_cents: i % 2 === 0 ? 1.7e308 : (i % 1000) + 1,
        drift_score: (i % 100) / 100,
        verdict: 'minor_drift',
      }));
      const m = divergenceMetrics(samples, 0.2);
      expect(m.sample_count).toBe(n);
      for (const v of Object.values(m)) expect(Number.isFinite(v)).toBe(true);
      expect(m.kl_divergence).toBeGreaterThan(0);
    }
  });
});
