import { compareResults } from '../../../src/domain/simulation/comparison';
import { outputHash } from '../../../src/domain/simulation/simulationHashes';
import { type RawPlanStep, normalizeInput } from '../../../src/domain/simulation/simulationInput';
import { simulateV1 } from '../../../src/domain/simulation/v1Simulator';
import { simulateV2 } from '../../../src/domain/simulation/v2Simulator';

/** docs/domain.md §2.3 "Worked examples": V1, V2 and their comparison together, budget 100 unless stated. */
const options = { modelVersion: '2.0.0', adapterVersion: '2.0.0', commitSha: 'test', runtimeMs: 3 };
function shadow(plan: RawPlanStep[], budget = 100) {
  const input = normalizeInput({ plan, budget_cents: budget });
  const v1 = simulateV1(input);
  const v2 = simulateV2(input, options);
  return { v1, v2, comparison: compareResults(v1, v2, { warning: 0.15, drift: 0.2 }).comparison };
}

describe('worked examples (domain.md §2.3)', () => {
  test('one external http_call: V1 0¢/500 ms, V2 0¢/500 ms, confidence 0.8075, drift 0, match', () => {
    const { v1, v2, comparison } = shadow([
      { skill: 'http_call', params: { url: 'https://api.example.com' } },
    ]);
    expect([v1.estimated_cost_cents, v1.estimated_duration_ms]).toEqual([0, 500]);
    expect([v2.estimated_cost_cents, v2.estimated_duration_ms, v2.confidence_score]).toEqual([
      0, 500, 0.8075,
    ]);
    expect([comparison.drift_score, comparison.verdict]).toEqual([0, 'match']);
  });

  test('llm_invoke "Hello world": V1 5¢/2000 ms, V2 4¢/1802 ms, drift 0.12, minor drift', () => {
    const { v1, v2, comparison } = shadow([{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }]);
    expect([v1.estimated_cost_cents, v1.estimated_duration_ms]).toEqual([5, 2000]);
    expect([v2.estimated_cost_cents, v2.estimated_duration_ms]).toEqual([4, 1802]);
    expect([comparison.drift_score, comparison.verdict]).toEqual([0.12, 'minor_drift']);
  });

  test('an unknown skill: V1 10¢, V2 5¢, drift 0.3, mismatch', () => {
    const { v1, v2, comparison } = shadow([{ skill: 'teleport' }]);
    expect([v1.estimated_cost_cents, v2.estimated_cost_cents]).toEqual([10, 5]);
    expect([comparison.drift_score, comparison.verdict]).toEqual([0.3, 'mismatch']);
  });

  test('two llm_invoke with 5000-char prompts, budget 5: both infeasible, confidence 0.6187, drift 0.6, mismatch', () => {
    const prompt = 'x'.repeat(5000);
    const { v1, v2, comparison } = shadow(
      [
        { skill: 'llm_invoke', params: { prompt } },
        { skill: 'llm_invoke', params: { prompt } },
      ],
      5,
    );
    expect([v1.estimated_cost_cents, v1.feasible]).toEqual([10, false]);
    expect([v2.estimated_cost_cents, v2.feasible, v2.confidence_score]).toEqual([25, false, 0.6187]);
    expect(comparison.cost_delta_pct).toBe(1.5); // capped at 1 inside the drift
    expect([comparison.drift_score, comparison.verdict]).toEqual([0.6, 'mismatch']);
  });

  test('an empty plan: drift 0, match', () => {
    const { v1, v2, comparison } = shadow([]);
    expect([v1.status, v2.status]).toEqual(['invalid_plan', 'schema_error']);
    expect([comparison.drift_score, comparison.verdict]).toEqual([0, 'match']);
  });

  test('the output hash ignores runtime, so equal answers hash equally', () => {
    const input = normalizeInput({ plan: [{ skill: 'kv_get' }] });
    const a = simulateV2(input, { ...options, runtimeMs: 1 });
    const b = simulateV2(input, { ...options, runtimeMs: 99 });
    expect(outputHash(a)).toBe(outputHash(b));
  });
});
