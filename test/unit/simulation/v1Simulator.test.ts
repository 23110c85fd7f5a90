import { parse } from 'lossless-json';
import {
  KNOWN_SKILLS,
  type RawPlanStep,
  normalizeInput,
} from '../../../src/domain/simulation/simulationInput';
import { V1_MITIGATIONS, V1_SKILLS, simulateV1 } from '../../../src/domain/simulation/v1Simulator';

type Request = Parameters<typeof normalizeInput>[0];

/** Budget 100, as in the worked examples of docs/domain.md §2.3, unless overridden. */
const run = (plan: readonly RawPlanStep[], over: Omit<Partial<Request>, 'plan'> = {}) =>
  simulateV1(normalizeInput({ budget_cents: 100, ...over, plan }));

const only = <T>(items: readonly T[]): T => {
  expect(items).toHaveLength(1);
  return items[0] as T;
};

/**
 * docs/domain.md §2.1, rule by rule. Expected values that depend on Python's float arithmetic or formatting
 * come from CPython 3.11 (python3 on this machine) running the same expressions, e.g.
 *   python3 -c "p=1.0-((1.0-0.1)**3); print(repr(p), f'{p*100:.0f}')"  →  0.2709999999999999 27
 * test/unit/simulation/pythonReference.test.ts checks 300 more plans against CPython.
 */
describe('V1 output exactly as the original (domain.md §2.1)', () => {
  test('the full answer and its field order: an external http_call', () => {
    const result = run([{ skill: 'http_call', params: { url: 'https://api.example.com' } }]);
    expect(result).toEqual({
      feasible: true,
      status: 'feasible',
      estimated_cost_cents: 0,
      estimated_duration_ms: 500,
      budget_remaining_cents: 100,
      budget_sufficient: true,
      permission_gaps: [],
      risks: [
        {
          step_index: 0,
          skill_id: 'http_call',
          risk_type: 'timeout',
          probability: 0.1,
          description: 'http_call has 10% chance of timeout',
          mitigation: 'Add retry with exponential backoff',
        },
      ],
      step_estimates: [
        {
          step_index: 0,
          skill_id: 'http_call',
          cost_cents: 0,
          latency_ms: 500,
          risk_probability: 0.1,
          risk_type: 'timeout',
        },
      ],
      alternatives: [],
      warnings: [],
      // unrounded: the original's 1 − (1 − 0)(1 − 0.1)
      metadata: { plan_steps: 1, cumulative_risk: 0.09999999999999998, budget_utilization: 0 },
    });
    expect(Object.keys(result)).toEqual([
      'feasible',
      'status',
      'estimated_cost_cents',
      'estimated_duration_ms',
      'budget_remaining_cents',
      'budget_sufficient',
      'permission_gaps',
      'risks',
      'step_estimates',
      'alternatives',
      'warnings',
      'metadata',
    ]);
  });

  test('empty plan: invalid_plan, budget_sufficient, remaining = budget, the warning, metadata {}', () => {
    expect(run([], { budget_cents: 42 })).toEqual({
      feasible: false,
      status: 'invalid_plan',
      estimated_cost_cents: 0,
      estimated_duration_ms: 0,
      budget_remaining_cents: 42,
      budget_sufficient: true,
      permission_gaps: [],
      risks: [],
      step_estimates: [],
      alternatives: [],
      warnings: ['Empty plan provided'],
      metadata: {},
    });
  });

  test.each([
    ['http_call', 0, 500, 0.1, 'timeout'],
    ['llm_invoke', 5, 2000, 0.05, 'rate_limit'],
    ['json_transform', 0, 10, 0.01, 'transform_error'],
    ['fs_read', 0, 50, 0.05, 'not_found'],
    ['fs_write', 0, 100, 0.05, 'permission'],
    ['shell_lite', 0, 200, 0.1, 'timeout'],
    ['kv_get', 0, 5, 0.02, 'not_found'],
    ['kv_set', 0, 10, 0.02, 'quota'],
    ['webhook_send', 0, 300, 0.1, 'timeout'],
    ['email_send', 1, 500, 0.05, 'delivery'],
    ['teleport', 10, 1000, 0.2, 'unknown'],
  ])('table: %s → %s¢, %s ms, p %s, %s', (skill, cost, latency, p, type) => {
    expect(only(run([{ skill, params: {} }]).step_estimates)).toEqual({
      step_index: 0,
      skill_id: skill,
      cost_cents: cost,
      latency_ms: latency,
      risk_probability: p,
      risk_type: type,
    });
  });

  test('the table has exactly the known skills plus unknown; a missing skill is "unknown", a name is kept as given', () => {
    expect(Object.keys(V1_SKILLS).sort()).toEqual([...KNOWN_SKILLS, 'unknown'].sort());
    expect(only(run([{ params: {} }]).step_estimates)).toMatchObject({ skill_id: 'unknown', cost_cents: 10 });
    expect(only(run([{ skill: 'HTTP_CALL' }]).step_estimates)).toMatchObject({
      skill_id: 'HTTP_CALL',
      cost_cents: 10,
    });
  });

  test('mitigations, exactly', () => {
    expect(V1_MITIGATIONS).toEqual({
      timeout: 'Add retry with exponential backoff',
      rate_limit: 'Implement client-side throttling',
      transform_error: 'Validate input schema before transform',
      not_found: 'Add existence check before access',
      permission: 'Verify permissions before write',
      quota: 'Check quota before operation',
      delivery: 'Use delivery confirmation',
      unknown: 'Add error handling and monitoring',
    });
    const risks = run([{ skill: 'webhook_send' }, { skill: 'teleport' }]).risks;
    expect(risks.map((r) => [r.description, r.mitigation])).toEqual([
      ['webhook_send has 10% chance of timeout', 'Add retry with exponential backoff'],
      ['teleport has 20% chance of unknown', 'Add error handling and monitoring'],
    ]);
  });

  test('risks: only steps with p > 0.05 (0.05 itself is not listed); every step counts in the cumulative risk', () => {
    const result = run([
      { skill: 'llm_invoke' },
      { skill: 'fs_read' },
      { skill: 'kv_get' },
      { skill: 'shell_lite' },
    ]);
    expect(result.risks.map((r) => r.step_index)).toEqual([3]);
    // python3: r=0.0; for p in [0.05,0.05,0.02,0.1]: r=1.0-((1.0-r)*(1.0-p)); print(repr(r))
    expect(result.metadata).toMatchObject({ cumulative_risk: 0.20399500000000004 });
  });
});

describe('prompt and timeout params', () => {
  const costOf = (prompt: unknown) =>
    only(run([{ skill: 'llm_invoke', params: { prompt } }]).step_estimates).cost_cents;

  test('llm_invoke: max(5, len(str(prompt)) // 1000), code points', () => {
    expect([
      costOf(''),
      costOf('a'.repeat(5999)),
      costOf('a'.repeat(6000)),
      costOf('a'.repeat(12_999)),
    ]).toEqual([5, 5, 6, 12]);
    expect(costOf('😀'.repeat(6000))).toBe(6); // 12 000 UTF-16 units, 6000 code points
  });

  test('a non-string prompt is measured as Python prints it: [1, 2, …] of 3000 ints', () => {
    // python3 -c "print(len(str(list(range(2000)))))"  →  10890
    expect(costOf(Array.from({ length: 2000 }, (_, i) => i))).toBe(10);
    // python3 -c "print(len(str([1.0]*1500)))"  →  7500 — written floats print as 1.0 (as ints: 4500)
    const floats = parse(`[${Array(1500).fill('1.0').join(',')}]`) as unknown[];
    expect(costOf(floats)).toBe(7);
    expect(costOf(Array(1500).fill(1))).toBe(5);
    expect([costOf(123), costOf(true), costOf(null), costOf({ a: 1 })]).toEqual([5, 5, 5, 5]);
  });

  test('http_call: latency = min(500, timeout × 1000); booleans count as Python ints; others keep 500', () => {
    const latencyOf = (timeout: unknown) =>
      only(run([{ skill: 'http_call', params: { timeout } }]).step_estimates).latency_ms;
    expect([0.2, 0, 0.5, 30, -1].map(latencyOf)).toEqual([200, 0, 500, 500, -1000]);
    expect(latencyOf(0.35)).toBe(350); // python3 -c "print(0.35*1000)" → 350.0
    expect([latencyOf(true), latencyOf(false)]).toEqual([500, 0]);
    expect([latencyOf('0.1'), latencyOf(null)]).toEqual([500, 500]);
    expect(only(run([{ skill: 'webhook_send', params: { timeout: 0.1 } }]).step_estimates).latency_ms).toBe(
      300,
    );
  });
});

describe('iterations (the original later form)', () => {
  test('a step that gives iterations: ×n, iterations/base fields, risk 1 − (1 − p)^n, "x{n}" description', () => {
    const result = run([
      { skill: 'http_call', params: { timeout: 0.2 }, iterations: 3 },
      { skill: 'kv_get' },
    ]);
    expect(result.step_estimates).toEqual([
      {
        step_index: 0,
        skill_id: 'http_call',
        cost_cents: 0,
        latency_ms: 600,
        risk_probability: 0.1, // the table's p, never compounded here
        risk_type: 'timeout',
        iterations: 3,
        base_cost_cents: 0,
        base_latency_ms: 200,
      },
      {
        step_index: 1,
        skill_id: 'kv_get',
        cost_cents: 0,
        latency_ms: 5,
        risk_probability: 0.02,
        risk_type: 'not_found',
      },
    ]);
    expect(Object.keys(result.step_estimates[0]!)).toEqual([
      'step_index',
      'skill_id',
      'cost_cents',
      'latency_ms',
      'risk_probability',
      'risk_type',
      'iterations',
      'base_cost_cents',
      'base_latency_ms',
    ]);
    // CPython: 1.0-((1.0-0.1)**3) = 0.2709999999999999 → "27%"; cumulative 0.28557999999999995
    expect(result.risks).toEqual([
      {
        step_index: 0,
        skill_id: 'http_call',
        risk_type: 'timeout',
        probability: 0.2709999999999999,
        description: 'http_call x3 has 27% chance of timeout',
        mitigation: 'Add retry with exponential backoff',
      },
    ]);
    expect(result.metadata).toEqual({
      plan_steps: 2,
      cumulative_risk: 0.28557999999999995,
      budget_utilization: 0,
    });
  });

  test('iterations: 1 given is the later form (x1, 1 − (1 − p)), absent is the earlier one', () => {
    expect(run([{ skill: 'http_call', iterations: 1 }]).risks).toEqual([
      expect.objectContaining({
        probability: 0.09999999999999998,
        description: 'http_call x1 has 10% chance of timeout',
      }),
    ]);
    expect(only(run([{ skill: 'http_call' }]).step_estimates)).not.toHaveProperty('iterations');
  });

  test('llm cost × n and the budget', () => {
    const result = run([{ skill: 'llm_invoke', params: { prompt: 'Test' }, iterations: 50 }]);
    expect(result).toMatchObject({
      estimated_cost_cents: 250,
      budget_remaining_cents: -150,
      status: 'budget_insufficient',
    });
  });
});

describe('feasibility, warnings, alternatives', () => {
  test('budget insufficient: negative remaining, "Reduce LLM calls" with the llm costs — 0 included — and NO warning', () => {
    const withLlm = run([{ skill: 'llm_invoke' }, { skill: 'teleport' }], { budget_cents: 5 });
    expect(withLlm).toMatchObject({
      status: 'budget_insufficient',
      budget_remaining_cents: -10,
      budget_sufficient: false,
      alternatives: [{ suggestion: 'Reduce LLM calls', potential_savings_cents: 5 }],
      warnings: [],
    });
    expect(run([{ skill: 'teleport' }], { budget_cents: 5 }).alternatives).toEqual([
      { suggestion: 'Reduce LLM calls', potential_savings_cents: 0 },
    ]);
    expect(run([{ skill: 'llm_invoke' }], { budget_cents: 5 }).alternatives).toEqual([]); // 5 ≤ 5
  });

  test('permission gaps: every step not allowed, in order, duplicates kept; no warning', () => {
    const result = run([{ skill: 'teleport' }, { skill: 'kv_get' }, { skill: 'teleport' }], {
      allowed_skills: ['kv_get'],
    });
    expect(result).toMatchObject({
      status: 'permission_denied',
      permission_gaps: ['teleport', 'teleport'],
      warnings: [],
    });
    expect(run([{ skill: 'teleport' }], { allowed_skills: [] }).permission_gaps).toEqual([]);
    // gaps are listed even when the budget decided the status
    expect(run([{ skill: 'teleport' }], { budget_cents: 1, allowed_skills: ['kv_get'] })).toMatchObject({
      status: 'budget_insufficient',
      permission_gaps: ['teleport'],
    });
  });

  test('risk decides: the one V1 warning, .0f on the exact value (ties to even)', () => {
    const result = run([{ skill: 'http_call' }, { skill: 'shell_lite' }, { skill: 'webhook_send' }], {
      risk_threshold: 0.25,
    });
    expect(result).toMatchObject({
      status: 'risk_too_high',
      feasible: false,
      warnings: ['Cumulative risk 27% exceeds threshold 25%'],
    });
    // threshold 0.125 → 12.5 → "12" (Python), where toFixed would print "13"
    expect(run([{ skill: 'teleport' }], { risk_threshold: 0.125 }).warnings).toEqual([
      'Cumulative risk 20% exceeds threshold 12%',
    ]);
  });

  test('order: budget → permissions → risk, and no warning unless risk decided', () => {
    expect(
      run([{ skill: 'teleport' }], { budget_cents: 1, allowed_skills: ['x'], risk_threshold: 0 }),
    ).toMatchObject({
      status: 'budget_insufficient',
      warnings: [],
    });
    expect(run([{ skill: 'teleport' }], { allowed_skills: ['x'], risk_threshold: 0 })).toMatchObject({
      status: 'permission_denied',
      warnings: [],
    });
  });

  test('risk equal to the threshold passes (compared unrounded); utilization unrounded', () => {
    // the cumulative risk of one http_call is 0.09999999999999998 ≤ 0.1
    expect(run([{ skill: 'http_call' }], { risk_threshold: 0.1 }).feasible).toBe(true);
    expect(run([{ skill: 'email_send' }], { budget_cents: 3 }).metadata).toMatchObject({
      budget_utilization: 1 / 3,
    });
    expect(run([{ skill: 'email_send' }], { budget_cents: 0 })).toMatchObject({
      status: 'budget_insufficient',
      budget_remaining_cents: -1,
    });
  });

  test('pure: same input, same output; the input is not mutated', () => {
    const input = normalizeInput({ plan: [{ skill: 'llm_invoke', params: { prompt: 'x' }, iterations: 2 }] });
    const copy = JSON.parse(JSON.stringify(input));
    expect(simulateV1(input)).toEqual(simulateV1(input));
    expect(input).toEqual(copy);
  });
});
