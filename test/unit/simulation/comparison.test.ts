import { type ComparedV2, compareResults, verdictOf } from '../../../src/domain/simulation/comparison';

const BOUNDS = { warning: 0.15, drift: 0.2 };
const result = (cost: number, feasible = true, duration = 0): ComparedV2 => ({
  feasible,
  status: feasible ? 'success' : 'error',
  estimated_cost_cents: cost,
  estimated_duration_ms: duration,
  risks: [],
  confidence_score: 0.9,
});
const compare = (v1: ComparedV2, v2: ComparedV2, bounds = BOUNDS) =>
  compareResults(v1, v2, bounds).comparison;

describe('comparison, drift and verdict (domain.md §2.3)', () => {
  test('the full comparison object, in the original field order: llm_invoke "Hello world"', () => {
    const c = compare(
      { ...result(5, true, 2000), status: 'feasible', risks: [] },
      { ...result(4, true, 1802), confidence_score: 0.92, risks: [{}] },
    );
    expect(c).toEqual({
      verdict: 'minor_drift',
      v1_cost_cents: 5,
      v2_cost_cents: 4,
      cost_delta_cents: -1,
      cost_delta_pct: 0.2,
      v1_duration_ms: 2000,
      v2_duration_ms: 1802,
      duration_delta_ms: -198,
      v1_feasible: true,
      v2_feasible: true,
      feasibility_match: true,
      drift_score: 0.12,
      details: {
        v1_status: 'feasible',
        v2_status: 'success',
        v2_confidence: 0.92,
        v1_risks_count: 0,
        v2_risks_count: 1,
      },
    });
    expect(Object.keys(c)).toEqual([
      'verdict',
      'v1_cost_cents',
      'v2_cost_cents',
      'cost_delta_cents',
      'cost_delta_pct',
      'v1_duration_ms',
      'v2_duration_ms',
      'duration_delta_ms',
      'v1_feasible',
      'v2_feasible',
      'feasibility_match',
      'drift_score',
      'details',
    ]);
  });

  test('unknown skill: V1 10¢, V2 5¢ → drift 0.3, mismatch (above COSTSIM_DRIFT_THRESHOLD 0.2)', () => {
    const c = compare(result(10), result(5));
    expect([c.drift_score, c.verdict]).toEqual([0.3, 'mismatch']);
  });

  test('two long prompts: V1 10¢, V2 25¢, both infeasible → pct 1.5, capped at 1 inside the drift: 0.6', () => {
    const c = compare(result(10, false), result(25, false));
    expect([c.cost_delta_pct, c.drift_score, c.verdict, c.feasibility_match]).toEqual([
      1.5,
      0.6,
      'mismatch',
      true,
    ]);
  });

  test('equal answers → drift 0, match', () => {
    expect(compare(result(0, true, 500), result(0, true, 500))).toMatchObject({
      drift_score: 0,
      verdict: 'match',
      cost_delta_pct: 0,
    });
  });

  test('fix: V1 free and V2 not → pct 1.0, not 0 (the original hid any V2 cost)', () => {
    expect(compare(result(0), result(3))).toMatchObject({ cost_delta_pct: 1, drift_score: 0.6 });
  });

  test('a feasibility mismatch alone is worth 0.4', () => {
    expect(compare(result(5, true), result(5, false))).toMatchObject({
      drift_score: 0.4,
      verdict: 'mismatch',
      feasibility_match: false,
    });
  });

  test('the verdict bounds are the configured thresholds, inclusive (0.05 is fixed)', () => {
    expect([0.05, 0.0500001, 0.15, 0.15000001, 0.2, 0.20000001].map((d) => verdictOf(d, BOUNDS))).toEqual([
      'match',
      'minor_drift',
      'minor_drift',
      'major_drift',
      'major_drift',
      'mismatch',
    ]);
    // COSTSIM_DRIFT_WARNING_THRESHOLD=0.1, COSTSIM_DRIFT_THRESHOLD=0.3
    expect([0.1, 0.12, 0.3, 0.31].map((d) => verdictOf(d, { warning: 0.1, drift: 0.3 }))).toEqual([
      'minor_drift',
      'major_drift',
      'major_drift',
      'mismatch',
    ]);
    // every drift between 0.2 and 0.3 was judged major_drift by the old hard-coded 0.3: now a mismatch
    expect(compare(result(100), result(140)).verdict).toBe('mismatch'); // 0.24
  });

  test('the verdict is decided on the unrounded drift, which is also what the breaker is told', () => {
    // 0.6 × 10000/39999 = 0.150003..., shown as 0.15 but above the bound: major drift
    const a = compareResults(result(39_999), result(49_999), BOUNDS);
    expect([a.comparison.drift_score, a.comparison.verdict]).toEqual([0.15, 'major_drift']);
    expect(a.drift).toBeGreaterThan(0.15);
    // V1 3¢, V2 4¢ drifts 0.6 × 1/3 = 0.19999999999999998, printed 0.2: a major drift, not a mismatch
    const b = compareResults(result(3), result(4), BOUNDS);
    expect([b.drift, b.comparison.drift_score, b.comparison.verdict]).toEqual([
      0.19999999999999998,
      0.2,
      'major_drift',
    ]);
    // 0.6 × 3334/10000 = 0.20004: printed 0.2, yet a mismatch — and the breaker counts it (unrounded)
    const c = compareResults(result(10_000), result(13_334), BOUNDS);
    expect([c.comparison.drift_score, c.comparison.verdict, c.drift > 0.2]).toEqual([0.2, 'mismatch', true]);
  });
});
