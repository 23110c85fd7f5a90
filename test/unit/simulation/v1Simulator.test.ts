import {
  KNOWN_SKILLS,
  type RawPlanStep,
  normalizeInput,
} from '../../../src/domain/simulation/simulationInput';
import { MITIGATIONS, V1_SKILLS, simulateV1 } from '../../../src/domain/simulation/v1Simulator';

type Request = Parameters<typeof normalizeInput>[0];

/** Budget 100, as in the worked examples of domain.md §2.3, unless overridden. */
const run = (plan: readonly RawPlanStep[], over: Omit<Partial<Request>, 'plan'> = {}) =>
  simulateV1(normalizeInput({ budget_cents: 100, ...over, plan }));

const only = <T>(items: readonly T[]): T => {
  expect(items).toHaveLength(1);
  return items[0] as T;
};

describe('worked examples (domain.md §2.3, budget 100)', () => {
  it('one external http_call: 0¢, 500 ms, feasible', () => {
    const result = run([{ skill: 'http_call', params: { url: 'https://api.example.com' } }]);
    expect(result).toMatchObject({
      feasible: true,
      status: 'feasible',
      estimated_cost_cents: 0,
      estimated_duration_ms: 500,
      budget_remaining_cents: 100,
      budget_sufficient: true,
      warnings: [],
      alternatives: [],
    });
  });

  it('llm_invoke "Hello world": 5¢, 2000 ms', () => {
    const result = run([{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }]);
    expect(result).toMatchObject({ feasible: true, estimated_cost_cents: 5, estimated_duration_ms: 2000 });
  });

  it('an unknown skill costs 10¢ and keeps its own name in skill_id', () => {
    const result = run([{ skill: 'teleport', params: {} }]);
    expect(result.estimated_cost_cents).toBe(10);
    expect(result.estimated_duration_ms).toBe(1000);
    expect(only(result.step_estimates)).toEqual({
      step_index: 0,
      skill_id: 'teleport',
      cost_cents: 10,
      latency_ms: 1000,
      risk_probability: 0.2,
      risk_type: 'unknown',
    });
  });

  it('two llm_invoke with 5000-char prompts, budget 5: 10¢, budget_insufficient', () => {
    const prompt = 'x'.repeat(5000);
    const result = run(
      [
        { skill: 'llm_invoke', params: { prompt } },
        { skill: 'llm_invoke', params: { prompt } },
      ],
      { budget_cents: 5 },
    );
    expect(result).toMatchObject({
      feasible: false,
      status: 'budget_insufficient',
      estimated_cost_cents: 10,
      budget_sufficient: false,
      alternatives: [{ description: 'Reduce LLM calls', estimated_savings_cents: 10 }],
      warnings: ['Budget insufficient: need 10 cents, have 5'],
    });
  });

  it('empty plan: invalid_plan, warning, cost 0, remaining = budget', () => {
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
      metadata: { plan_steps: 0, cumulative_risk: 0, budget_utilization: 0 },
    });
  });
});

describe('static table', () => {
  it.each([
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
  ])('%s without params: %s¢, %s ms, p %s, %s', (skill, cost, latency, p, type) => {
    expect(only(run([{ skill, params: {} }]).step_estimates)).toEqual({
      step_index: 0,
      skill_id: skill,
      cost_cents: cost,
      latency_ms: latency,
      risk_probability: p,
      risk_type: type,
    });
  });

  it('has exactly the known skills plus unknown', () => {
    expect(Object.keys(V1_SKILLS).sort()).toEqual([...KNOWN_SKILLS, 'unknown'].sort());
  });

  it('a missing skill is priced as unknown and named "unknown"', () => {
    const step = only(run([{ params: {} }]).step_estimates);
    expect(step).toMatchObject({ skill_id: 'unknown', cost_cents: 10, risk_type: 'unknown' });
  });

  it('a skill name that differs only in case from a known skill is unknown', () => {
    expect(only(run([{ skill: 'HTTP_CALL' }]).step_estimates)).toMatchObject({
      skill_id: 'HTTP_CALL',
      cost_cents: 10,
    });
  });

  it('step_index follows plan order', () => {
    const result = run([{ skill: 'kv_get' }, { skill: 'kv_set' }, { skill: 'kv_get' }]);
    expect(result.step_estimates.map((s) => [s.step_index, s.skill_id])).toEqual([
      [0, 'kv_get'],
      [1, 'kv_set'],
      [2, 'kv_get'],
    ]);
  });

  it('totals are the sums of the steps', () => {
    const result = run([{ skill: 'email_send' }, { skill: 'teleport' }, { skill: 'http_call' }]);
    expect(result.estimated_cost_cents).toBe(1 + 10 + 0);
    expect(result.estimated_duration_ms).toBe(500 + 1000 + 500);
    expect(result.metadata.plan_steps).toBe(3);
  });
});

describe('llm_invoke prompt pricing', () => {
  const costOf = (prompt: unknown) =>
    only(run([{ skill: 'llm_invoke', params: { prompt } }]).step_estimates).cost_cents;

  it('is floor(length / 1000), never below 5', () => {
    expect(costOf('')).toBe(5);
    expect(costOf('a'.repeat(5999))).toBe(5);
    expect(costOf('a'.repeat(6000))).toBe(6);
    expect(costOf('a'.repeat(12_999))).toBe(12);
  });

  it('counts code points, not UTF-16 units: 6000 emoji count 6000', () => {
    const emoji = '😀'.repeat(6000);
    expect(emoji.length).toBe(12_000); // the UTF-16 length would price it at 12¢
    expect(costOf(emoji)).toBe(6);
  });

  it('5000 emoji count 5000 (5¢), not 10000 (10¢)', () => {
    expect(costOf('😀'.repeat(5000))).toBe(5);
  });

  it('a non-string prompt keeps the table cost', () => {
    expect(costOf(123_456_789)).toBe(5);
    expect(costOf(['a'.repeat(9000)])).toBe(5);
  });

  it('a prompt on another skill does not change its cost', () => {
    expect(
      only(run([{ skill: 'teleport', params: { prompt: 'a'.repeat(50_000) } }]).step_estimates).cost_cents,
    ).toBe(10);
  });
});

describe('http_call timeout', () => {
  const latencyOf = (skill: string, params: Record<string, unknown>) =>
    only(run([{ skill, params }]).step_estimates).latency_ms;

  it('latency = timeout seconds × 1000, capped at 500', () => {
    expect(latencyOf('http_call', { timeout: 0.2 })).toBe(200);
    expect(latencyOf('http_call', { timeout: 0 })).toBe(0);
    expect(latencyOf('http_call', { timeout: 0.5 })).toBe(500);
    expect(latencyOf('http_call', { timeout: 30 })).toBe(500);
  });

  it('no timeout or a non-numeric timeout keeps 500 ms', () => {
    expect(latencyOf('http_call', {})).toBe(500);
    expect(latencyOf('http_call', { timeout: '0.1' })).toBe(500);
  });

  it('a negative or non-finite timeout keeps 500 ms', () => {
    expect(latencyOf('http_call', { timeout: -1 })).toBe(500);
    expect(latencyOf('http_call', { timeout: Number.NaN })).toBe(500);
  });

  it('only applies to http_call', () => {
    expect(latencyOf('webhook_send', { timeout: 0.1 })).toBe(300);
  });
});

describe('iterations', () => {
  it('multiply cost and latency by n', () => {
    const step = only(
      run([{ skill: 'llm_invoke', params: { prompt: 'a'.repeat(7000) }, iterations: 3 }]).step_estimates,
    );
    expect(step.cost_cents).toBe(21);
    expect(step.latency_ms).toBe(6000);
  });

  it('apply after the http timeout rule', () => {
    expect(
      only(run([{ skill: 'http_call', params: { timeout: 0.1 }, iterations: 4 }]).step_estimates).latency_ms,
    ).toBe(400);
  });

  it('risk becomes 1 − (1 − p)^n', () => {
    const steps = run([
      { skill: 'http_call', iterations: 3 },
      { skill: 'json_transform', iterations: 100 },
    ]).step_estimates;
    expect(steps[0]?.risk_probability).toBeCloseTo(1 - 0.9 ** 3, 12);
    expect(steps[0]?.risk_probability).toBeCloseTo(0.271, 12);
    expect(steps[1]?.risk_probability).toBeCloseTo(1 - 0.99 ** 100, 12);
  });

  it('iterations 1 leave the table values unchanged', () => {
    expect(only(run([{ skill: 'email_send', iterations: 1 }]).step_estimates)).toMatchObject({
      cost_cents: 1,
      latency_ms: 500,
      risk_probability: 0.05,
    });
  });

  it('totals include the multiplied steps', () => {
    const result = run([{ skill: 'teleport', iterations: 5 }, { skill: 'email_send' }]);
    expect(result.estimated_cost_cents).toBe(51);
    expect(result.estimated_duration_ms).toBe(5500);
  });
});

describe('risks', () => {
  it('lists only steps with p > 0.05 (0.05 itself is not listed)', () => {
    const result = run([
      { skill: 'llm_invoke' }, // 0.05
      { skill: 'fs_read' }, // 0.05
      { skill: 'kv_get' }, // 0.02
      { skill: 'shell_lite' }, // 0.10
    ]);
    expect(only(result.risks)).toEqual({
      step_index: 3,
      skill_id: 'shell_lite',
      risk_type: 'timeout',
      probability: 0.1,
      description: 'shell_lite has 10% chance of timeout',
      mitigation: MITIGATIONS.timeout,
    });
  });

  it('iterations can push a step above 0.05', () => {
    const risk = only(run([{ skill: 'llm_invoke', iterations: 2 }]).risks);
    expect(risk.probability).toBeCloseTo(0.0975, 12);
    expect(risk.description).toBe('llm_invoke has 9.8% chance of rate_limit');
    expect(risk.mitigation).toBe('Client-side throttling');
  });

  it('formats N% with at most one decimal and no trailing .0', () => {
    const descriptions = run([
      { skill: 'http_call', iterations: 2 }, // 0.18999999999999995
      { skill: 'webhook_send', iterations: 3 }, // 0.2709999999999999
      { skill: 'teleport' }, // 0.2
    ]).risks.map((r) => r.description);
    expect(descriptions).toEqual([
      'http_call has 19% chance of timeout',
      'webhook_send has 27.1% chance of timeout',
      'teleport has 20% chance of unknown',
    ]);
  });

  it('unknown skills are listed under their own name with the unknown mitigation', () => {
    expect(only(run([{ skill: 'teleport' }]).risks)).toMatchObject({
      skill_id: 'teleport',
      risk_type: 'unknown',
      mitigation: 'Error handling and monitoring',
    });
  });

  it('every risk type has a mitigation', () => {
    const types = new Set(Object.values(V1_SKILLS).map((row) => row.risk_type));
    for (const type of types) expect(MITIGATIONS[type]).toEqual(expect.any(String));
    expect(Object.keys(MITIGATIONS).sort()).toEqual([...types].sort());
  });
});

describe('cumulative risk', () => {
  it('combines every step, including the ones not listed', () => {
    // 0.05 and 0.02 are below the listing bar but still count.
    const result = run([{ skill: 'llm_invoke' }, { skill: 'kv_get' }, { skill: 'http_call' }]);
    expect(result.risks).toHaveLength(1);
    expect(result.metadata.cumulative_risk).toBe(Number((1 - 0.95 * 0.98 * 0.9).toFixed(4)));
    expect(result.metadata.cumulative_risk).toBe(0.1621);
  });

  it('is non-zero even when nothing is listed', () => {
    const result = run([{ skill: 'fs_read' }, { skill: 'fs_write' }]);
    expect(result.risks).toEqual([]);
    expect(result.metadata.cumulative_risk).toBe(0.0975);
  });

  it('uses the iteration-adjusted step risk', () => {
    // 1 − 0.9^3 for the step, then combined with json_transform's 0.01.
    const result = run([{ skill: 'http_call', iterations: 3 }, { skill: 'json_transform' }]);
    expect(result.metadata.cumulative_risk).toBe(Number((1 - 0.729 * 0.99).toFixed(4)));
    expect(result.metadata.cumulative_risk).toBe(0.2783);
  });

  it('is rounded to 4 dp in metadata', () => {
    const r = run([{ skill: 'webhook_send', iterations: 3 }]).metadata.cumulative_risk;
    expect(r).toBe(0.271);
  });
});

describe('floating-point edges', () => {
  it('a single step risk is exactly its table p (0.05 is not listed, and passes a 0.05 threshold)', () => {
    const result = run([{ skill: 'llm_invoke' }], { risk_threshold: 0.05 });
    expect(only(result.step_estimates).risk_probability).toBe(0.05);
    expect(result.risks).toEqual([]);
    expect(result).toMatchObject({ feasible: true, status: 'feasible' });
  });

  it('n iterations add the same cumulative risk as n copies of the step', () => {
    const iterated = run([{ skill: 'http_call', iterations: 7 }, { skill: 'kv_set' }]).metadata
      .cumulative_risk;
    const copies = run([...Array.from({ length: 7 }, () => ({ skill: 'http_call' })), { skill: 'kv_set' }])
      .metadata.cumulative_risk;
    expect(iterated).toBe(copies);
    expect(iterated).toBe(Number((1 - 0.9 ** 7 * 0.98).toFixed(4)));
  });
});

describe('budget', () => {
  it('cost equal to the budget is sufficient', () => {
    const result = run([{ skill: 'teleport' }], { budget_cents: 10 });
    expect(result).toMatchObject({ feasible: true, budget_sufficient: true, budget_remaining_cents: 0 });
  });

  it('remaining = budget − cost when it fits', () => {
    expect(run([{ skill: 'teleport' }], { budget_cents: 25 }).budget_remaining_cents).toBe(15);
  });

  it('remaining is clamped at 0 when the budget is short', () => {
    expect(run([{ skill: 'teleport' }], { budget_cents: 3 }).budget_remaining_cents).toBe(0);
  });

  it('no "Reduce LLM calls" alternative when there are no LLM costs', () => {
    const result = run([{ skill: 'teleport' }], { budget_cents: 3 });
    expect(result.status).toBe('budget_insufficient');
    expect(result.alternatives).toEqual([]);
  });

  it('the alternative saves only the llm_invoke costs', () => {
    const result = run(
      [
        { skill: 'teleport' },
        { skill: 'llm_invoke', params: { prompt: 'a'.repeat(8000) } },
        { skill: 'email_send' },
      ],
      { budget_cents: 1 },
    );
    expect(result.alternatives).toEqual([{ description: 'Reduce LLM calls', estimated_savings_cents: 8 }]);
  });

  it('no alternatives when the budget is sufficient, even with LLM costs', () => {
    expect(run([{ skill: 'llm_invoke' }], { budget_cents: 5 }).alternatives).toEqual([]);
  });

  it('budget_utilization = cost / max(budget, 1), 4 dp', () => {
    expect(run([{ skill: 'email_send' }], { budget_cents: 3 }).metadata.budget_utilization).toBe(0.3333);
    expect(run([{ skill: 'teleport' }], { budget_cents: 0 }).metadata.budget_utilization).toBe(10);
    expect(run([{ skill: 'http_call' }], { budget_cents: 0 }).metadata.budget_utilization).toBe(0);
  });

  it('a zero budget fits a zero-cost plan', () => {
    expect(run([{ skill: 'kv_get' }], { budget_cents: 0 })).toMatchObject({
      feasible: true,
      budget_sufficient: true,
    });
  });
});

describe('permissions', () => {
  it('skills outside allowed_skills are gaps: permission_denied', () => {
    const result = run(
      [{ skill: 'kv_get' }, { skill: 'fs_write' }, { skill: 'teleport' }, { skill: 'fs_write' }],
      {
        allowed_skills: ['kv_get'],
      },
    );
    expect(result).toMatchObject({
      feasible: false,
      status: 'permission_denied',
      permission_gaps: ['fs_write', 'teleport'],
    });
    expect(result.warnings).toEqual(['Permission denied for skills: fs_write, teleport']);
  });

  it('an empty allowed_skills list means no restriction', () => {
    const result = run([{ skill: 'kv_get' }, { skill: 'fs_write' }], { allowed_skills: [] });
    expect(result).toMatchObject({ feasible: true, status: 'feasible', permission_gaps: [] });
  });

  it('null allowed_skills means no restriction', () => {
    expect(run([{ skill: 'teleport' }], { allowed_skills: null })).toMatchObject({
      feasible: true,
      permission_gaps: [],
    });
  });

  it('gaps are computed even when the budget check already failed', () => {
    const result = run([{ skill: 'teleport' }], { budget_cents: 1, allowed_skills: ['kv_get'] });
    expect(result.permission_gaps).toEqual(['teleport']);
  });
});

describe('risk threshold', () => {
  it('r above the threshold: risk_too_high', () => {
    const result = run([{ skill: 'teleport' }, { skill: 'teleport' }], { risk_threshold: 0.3 });
    expect(result.metadata.cumulative_risk).toBe(0.36);
    expect(result).toMatchObject({
      feasible: false,
      status: 'risk_too_high',
      warnings: ['Risk too high: 36.0% > 30.0%'],
    });
  });

  it('r equal to the threshold is acceptable', () => {
    expect(run([{ skill: 'teleport' }], { risk_threshold: 0.2 })).toMatchObject({
      feasible: true,
      status: 'feasible',
    });
  });

  it('threshold 0 rejects any risky plan', () => {
    expect(run([{ skill: 'json_transform' }], { risk_threshold: 0 }).status).toBe('risk_too_high');
  });

  it('the default threshold is 0.5', () => {
    // 1 − 0.8^3 = 0.488 passes, 1 − 0.8^4 = 0.5904 does not.
    expect(run([{ skill: 'teleport', iterations: 3 }], { budget_cents: 1000 }).status).toBe('feasible');
    expect(run([{ skill: 'teleport', iterations: 4 }], { budget_cents: 1000 }).status).toBe('risk_too_high');
  });
});

describe('feasibility order: budget → permissions → risk', () => {
  it('failing budget and permissions reports budget_insufficient', () => {
    const result = run([{ skill: 'teleport' }], { budget_cents: 5, allowed_skills: ['kv_get'] });
    expect(result.status).toBe('budget_insufficient');
    expect(result.feasible).toBe(false);
    expect(result.warnings).toEqual([
      'Budget insufficient: need 10 cents, have 5',
      'Permission denied for skills: teleport',
    ]);
  });

  it('failing permissions and risk reports permission_denied', () => {
    const result = run([{ skill: 'teleport' }], { allowed_skills: ['kv_get'], risk_threshold: 0.1 });
    expect(result.status).toBe('permission_denied');
    expect(result.warnings).toEqual([
      'Permission denied for skills: teleport',
      'Risk too high: 20.0% > 10.0%',
    ]);
  });

  it('failing budget and risk reports budget_insufficient', () => {
    const result = run([{ skill: 'teleport' }], { budget_cents: 5, risk_threshold: 0.1 });
    expect(result.status).toBe('budget_insufficient');
    expect(result.alternatives).toEqual([]);
  });

  it('a plan passing every check is feasible with no warnings', () => {
    const result = run([{ skill: 'kv_get' }], { allowed_skills: ['kv_get'], risk_threshold: 0.02 });
    expect(result).toMatchObject({ feasible: true, status: 'feasible', warnings: [] });
  });
});

describe('purity', () => {
  it('the same input gives the same output and the input is not mutated', () => {
    const input = normalizeInput({
      plan: [{ skill: 'llm_invoke', params: { prompt: 'hi' }, iterations: 2 }, { skill: 'http_call' }],
      budget_cents: 3,
      allowed_skills: ['http_call'],
    });
    const snapshot = JSON.stringify(input);
    const first = simulateV1(input);
    expect(simulateV1(input)).toEqual(first);
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(first.status).toBe('budget_insufficient');
  });
});
