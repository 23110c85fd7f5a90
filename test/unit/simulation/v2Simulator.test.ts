import {
  normalizeInput,
  type RawPlanStep,
  type SimulationInput,
} from '../../../src/domain/simulation/simulationInput';
import type { SimulationResultCore } from '../../../src/domain/simulation/simulationResult';
import {
  pythonListRepr,
  pythonStrRepr,
  simulateV2,
  V2_MODEL_VERSION,
  V2_SKILLS,
  type V2Options,
  type V2Result,
} from '../../../src/domain/simulation/v2Simulator';

const options: V2Options = {
  modelVersion: V2_MODEL_VERSION,
  adapterVersion: 'adapter-1',
  commitSha: 'abc1234',
  runtimeMs: 3,
};

function input(
  plan: RawPlanStep[],
  rest: { budget_cents?: number; allowed_skills?: string[] | null; risk_threshold?: number } = {},
): SimulationInput {
  return normalizeInput({ plan, budget_cents: 100, ...rest });
}

const run = (
  plan: RawPlanStep[],
  rest?: { budget_cents?: number; allowed_skills?: string[] | null; risk_threshold?: number },
): V2Result => simulateV2(input(plan, rest), options);

/** The single step of a one-step plan. */
function onlyStep(result: V2Result) {
  expect(result.step_estimates).toHaveLength(1);
  const step = result.step_estimates[0];
  if (!step) throw new Error('no step');
  return step;
}

const EXTERNAL = 'https://api.example.com';
const LOCAL = 'http://localhost:8080/health';

describe('simulateV2: worked examples (domain.md §2.3, budget 100)', () => {
  it('one external http_call: 0¢, 500 ms, confidence 0.8075', () => {
    const result = run([{ skill: 'http_call', params: { url: EXTERNAL } }]);
    expect(result).toMatchObject({
      feasible: true,
      status: 'success',
      estimated_cost_cents: 0,
      estimated_duration_ms: 500,
      confidence_score: 0.8075,
      budget_remaining_cents: 100,
      budget_sufficient: true,
      warnings: [],
      alternatives: [],
    });
    expect(result.risks).toEqual([
      {
        step_index: 0,
        skill_id: 'http_call',
        risk_type: 'timeout',
        probability: 0.12,
        description: 'http_call has 12% chance of timeout',
        mitigation: 'Add retry with exponential backoff',
      },
    ]);
    expect(result.metadata.cumulative_risk).toBe(0.12);
  });

  it('llm_invoke "Hello world": 4¢ (3.5352 rounded), 1802 ms', () => {
    const result = run([{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }]);
    expect(result.estimated_cost_cents).toBe(4);
    expect(result.estimated_duration_ms).toBe(1802);
    expect(result.confidence_score).toBe(0.92);
    expect(onlyStep(result)).toEqual({
      step_index: 0,
      skill_id: 'llm_invoke',
      cost_cents: 3.54,
      latency_ms: 1802.2,
      risk_probability: 0.03,
      risk_type: 'rate_limit',
      confidence: 0.92,
    });
    expect(result.metadata.budget_utilization).toBe(0.04);
  });

  it('an unknown skill: 5¢, confidence 0.6, risk 0.15', () => {
    const result = run([{ skill: 'teleport', params: {} }]);
    expect(result.estimated_cost_cents).toBe(5);
    expect(result.estimated_duration_ms).toBe(500);
    expect(result.confidence_score).toBe(0.6);
    expect(onlyStep(result)).toMatchObject({ skill_id: 'teleport', risk_type: 'unknown' });
    expect(result.risks).toEqual([
      expect.objectContaining({
        skill_id: 'teleport',
        probability: 0.15,
        description: 'teleport has 15% chance of unknown',
        mitigation: 'Add error handling and monitoring',
      }),
    ]);
  });

  it('two llm_invoke with 5000-char prompts, budget 5: 25¢, infeasible, confidence 0.6187', () => {
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
      status: 'error',
      estimated_cost_cents: 25,
      estimated_duration_ms: 5600,
      confidence_score: 0.6187,
      budget_remaining_cents: 0,
      budget_sufficient: false,
      warnings: ['Budget insufficient: need 25 cents, have 5'],
      alternatives: [{ description: 'Reduce LLM calls', estimated_savings_cents: 25 }],
    });
    expect(result.step_estimates.map((s) => [s.cost_cents, s.confidence])).toEqual([
      [12.3, 0.7866],
      [12.3, 0.7866],
    ]);
    expect(result.metadata.budget_utilization).toBe(5);
  });

  it('empty plan: schema_error, infeasible, confidence 0, nothing estimated', () => {
    const result = simulateV2(input([], { budget_cents: 70 }), options);
    expect(result).toEqual({
      feasible: false,
      status: 'schema_error',
      estimated_cost_cents: 0,
      estimated_duration_ms: 0,
      budget_remaining_cents: 70,
      budget_sufficient: true,
      permission_gaps: [],
      risks: [],
      step_estimates: [],
      alternatives: [],
      warnings: ['Empty plan provided'],
      confidence_score: 0,
      model_version: '2.0.0',
      runtime_ms: 3,
      metadata: {
        plan_steps: 0,
        cumulative_risk: 0,
        budget_utilization: 0,
        adapter_version: 'adapter-1',
        commit_sha: 'abc1234',
      },
    });
  });
});

describe('simulateV2: the table', () => {
  it('prices every skill with neutral params as the table says', () => {
    const neutral: Record<string, Record<string, unknown>> = {
      http_call: { url: LOCAL },
      llm_invoke: {},
    };
    const rows = Object.keys(V2_SKILLS).map((skill) => {
      const step = onlyStep(run([{ skill, params: neutral[skill] ?? {} }]));
      return [
        skill,
        step.cost_cents,
        step.latency_ms,
        step.confidence,
        step.risk_probability,
        step.risk_type,
      ];
    });
    expect(rows).toEqual([
      ['http_call', 0, 500, 0.85, 0.08, 'timeout'],
      ['llm_invoke', 3.5, 1800, 0.92, 0.03, 'rate_limit'],
      ['json_transform', 0, 5, 0.98, 0.005, 'transform_error'],
      ['fs_read', 0, 30, 0.95, 0.03, 'read'],
      ['fs_write', 0, 50, 0.94, 0.02, 'write'],
      ['shell_lite', 0, 150, 0.88, 0.07, 'timeout'],
      ['kv_get', 0, 3, 0.97, 0.01, 'get'],
      ['kv_set', 0, 5, 0.97, 0.01, 'set'],
      ['webhook_send', 0, 200, 0.9, 0.08, 'timeout'],
      ['email_send', 0.8, 350, 0.93, 0.03, 'delivery'],
      ['unknown', 5, 500, 0.6, 0.15, 'unknown'],
    ]);
  });

  it('carries the mitigation of each listed risk type', () => {
    const result = run(
      [
        { skill: 'fs_read', params: {} },
        { skill: 'fs_write', params: {}, iterations: 2 },
        { skill: 'kv_get', params: {}, iterations: 3 },
        { skill: 'kv_set', params: {}, iterations: 3 },
        { skill: 'email_send', params: {} },
        { skill: 'llm_invoke', params: {} },
        { skill: 'json_transform', params: {}, iterations: 5 },
      ],
      { budget_cents: 1000 },
    );
    expect(result.risks.map((r) => [r.risk_type, r.mitigation])).toEqual([
      ['read', 'Check existence before read'],
      ['write', 'Verify write permissions'],
      ['get', 'Handle missing keys'],
      ['set', 'Check quota'],
      ['delivery', 'Add delivery confirmation'],
      ['rate_limit', 'Add client-side throttling'],
      ['transform_error', 'Validate input schema'],
    ]);
  });
});

describe('simulateV2: llm_invoke', () => {
  const llm = (prompt: unknown) => onlyStep(run([{ skill: 'llm_invoke', params: { prompt } }]));

  it.each([
    [2000, 0.92],
    [2001, 0.874],
    [4000, 0.874],
    [4001, 0.7866],
  ])('a %p-character prompt has confidence %p', (length, confidence) => {
    expect(llm('a'.repeat(length)).confidence).toBe(confidence);
  });

  it('counts code points, not UTF-16 units (emoji)', () => {
    // 2000 emoji are 4000 UTF-16 units but 2000 code points: no long-prompt penalty
    expect(llm('😀'.repeat(2000)).confidence).toBe(0.92);
    expect(llm('😀'.repeat(2001)).confidence).toBe(0.874);
    expect(llm('😀'.repeat(4001)).confidence).toBe(0.7866);
    // cost and latency too: L = 1000, output 2000 → 3.5 + 0.8 + 2.4
    expect(llm('😀'.repeat(1000))).toMatchObject({ cost_cents: 6.7, latency_ms: 2000 });
  });

  it('caps the output estimate at 4000 characters', () => {
    // L = 3000 → output min(6000, 4000) = 4000 → 3.5 + 2.4 + 4.8
    expect(llm('a'.repeat(3000))).toMatchObject({ cost_cents: 10.7, latency_ms: 2400 });
  });

  it('treats a missing or non-string prompt as length 0', () => {
    expect(llm(undefined)).toMatchObject({ cost_cents: 3.5, latency_ms: 1800 });
    expect(llm(12345)).toMatchObject({ cost_cents: 3.5, latency_ms: 1800 });
  });
});

describe('simulateV2: http_call', () => {
  const http = (params: Record<string, unknown>) => run([{ skill: 'http_call', params }]);

  it.each([LOCAL, 'http://localhost', 'http://127.0.0.1:9000/x'])(
    'local url %p keeps the base risk',
    (url) => {
      const result = http({ url });
      expect(onlyStep(result)).toMatchObject({ risk_probability: 0.08, confidence: 0.85 });
      expect(result.confidence_score).toBe(0.85);
    },
  );

  it.each([EXTERNAL, 'https://localhost/x', 'http://127.0.0.2/', 'ftp://localhost', ''])(
    'url %p is external: risk × 1.5, confidence × 0.95',
    (url) => {
      expect(onlyStep(http({ url }))).toMatchObject({ risk_probability: 0.12, confidence: 0.8075 });
    },
  );

  it('a missing or non-string url is external', () => {
    expect(onlyStep(http({}))).toMatchObject({ risk_probability: 0.12, confidence: 0.8075 });
    expect(onlyStep(http({ url: 42 }))).toMatchObject({ risk_probability: 0.12, confidence: 0.8075 });
  });

  it('latency is min(500, timeout · 1000), timeout defaulting to 30 s', () => {
    expect(http({ url: EXTERNAL, timeout: 0.2 }).estimated_duration_ms).toBe(200);
    expect(http({ url: EXTERNAL, timeout: 10 }).estimated_duration_ms).toBe(500);
    expect(http({ url: EXTERNAL }).estimated_duration_ms).toBe(500);
    expect(http({ url: EXTERNAL, timeout: '0.2' }).estimated_duration_ms).toBe(500);
  });
});

describe('simulateV2: shell_lite', () => {
  const shell = (command: string) => onlyStep(run([{ skill: 'shell_lite', params: { command } }]));

  it('a command of 100 code points keeps the base risk and confidence', () => {
    expect(shell('x'.repeat(100))).toMatchObject({ risk_probability: 0.07, confidence: 0.88 });
    expect(shell('é'.repeat(100))).toMatchObject({ risk_probability: 0.07, confidence: 0.88 });
    // 100 emoji: 200 UTF-16 units, 100 code points
    expect(shell('😀'.repeat(100))).toMatchObject({ risk_probability: 0.07, confidence: 0.88 });
  });

  it('a command longer than 100 code points: risk × 1.2, confidence × 0.95', () => {
    expect(shell('x'.repeat(101))).toMatchObject({ risk_probability: 0.084, confidence: 0.836 });
    expect(shell('😀'.repeat(101))).toMatchObject({ risk_probability: 0.084, confidence: 0.836 });
  });
});

describe('simulateV2: iterations (the fix)', () => {
  it('multiplies cost and latency by n and compounds the risk, leaving confidence alone', () => {
    const result = run([{ skill: 'llm_invoke', params: { prompt: 'Hello world' }, iterations: 3 }]);
    expect(onlyStep(result)).toEqual({
      step_index: 0,
      skill_id: 'llm_invoke',
      cost_cents: 10.61, // 3.5352 · 3 = 10.6056
      latency_ms: 5406.6,
      risk_probability: 0.0873, // 1 − 0.97³
      risk_type: 'rate_limit',
      confidence: 0.92,
    });
    expect(result.estimated_cost_cents).toBe(11);
    expect(result.estimated_duration_ms).toBe(5407);
    expect(result.confidence_score).toBe(0.92);
    expect(result.metadata.cumulative_risk).toBe(0.0873);
  });

  it('compounds modified risks: an external http_call twice', () => {
    const result = run([{ skill: 'http_call', params: { url: EXTERNAL }, iterations: 2 }]);
    expect(result.estimated_duration_ms).toBe(1000);
    expect(result.risks[0]).toMatchObject({
      probability: 0.2256,
      description: 'http_call has 22.6% chance of timeout',
    });
    expect(result.confidence_score).toBe(0.8075);
  });

  it('listing is decided on the compounded risk', () => {
    expect(run([{ skill: 'kv_get', params: {} }]).risks).toEqual([]);
    const thrice = run([{ skill: 'kv_get', params: {}, iterations: 3 }]);
    expect(thrice.risks.map((r) => r.probability)).toEqual([0.0297]);
  });

  it('totals are rounded half to even once, on the sum (3.5 · 3 = 10.5 → 10)', () => {
    expect(run([{ skill: 'llm_invoke', params: {}, iterations: 3 }]).estimated_cost_cents).toBe(10);
  });
});

describe('simulateV2: totals', () => {
  it('rounds the float sums half to even', () => {
    const http = (timeout: number): RawPlanStep => ({ skill: 'http_call', params: { url: LOCAL, timeout } });
    expect(run([http(0.0025)]).estimated_duration_ms).toBe(2); // 2.5 → 2
    expect(run([http(0.0035)]).estimated_duration_ms).toBe(4); // 3.5 → 4
    expect(run([{ skill: 'llm_invoke', params: {} }]).estimated_cost_cents).toBe(4); // 3.5 → 4
    // 0.8 + 0.8 + 0.8 = 2.4000000000000004 → 2; per-step values are not rounded before summing
    const emails = run([
      { skill: 'email_send', params: {} },
      { skill: 'email_send', params: {} },
      { skill: 'email_send', params: {} },
    ]);
    expect(emails.estimated_cost_cents).toBe(2);
    expect(emails.confidence_score).toBe(0.8044); // 0.93³ = 0.804357
  });

  it('sums the unrounded step costs, not the 2 dp display values', () => {
    // 3.5032 + 7 = 10.5032 → 11; summing the displayed 3.5 + 7 = 10.5 would give 10
    const result = run([
      { skill: 'llm_invoke', params: { prompt: 'a' } },
      { skill: 'llm_invoke', params: {}, iterations: 2 },
    ]);
    expect(result.step_estimates.map((s) => s.cost_cents)).toEqual([3.5, 7]);
    expect(result.estimated_cost_cents).toBe(11);
  });
});

describe('simulateV2: listed risks', () => {
  const plan: RawPlanStep[] = [
    { skill: 'json_transform', params: {} }, // 0.005
    { skill: 'kv_get', params: {} }, // 0.01
    { skill: 'kv_set', params: {} }, // 0.01
    { skill: 'fs_write', params: {} }, // 0.02 — not above 0.02
    { skill: 'fs_read', params: {} }, // 0.03
  ];

  it('lists only risks strictly above 0.02', () => {
    const result = run(plan);
    expect(result.risks.map((r) => [r.step_index, r.skill_id])).toEqual([[4, 'fs_read']]);
    expect(result.step_estimates).toHaveLength(5);
  });

  it('computes the cumulative risk over the listed risks only', () => {
    const result = run(plan);
    expect(result.metadata.cumulative_risk).toBe(0.03);
    // over every step it would be 1 − 0.995·0.99·0.99·0.98·0.97 ≈ 0.0728 and fail a 0.031 threshold
    const underThreshold = run(plan, { risk_threshold: 0.031 });
    expect(underThreshold.feasible).toBe(true);
    expect(underThreshold.status).toBe('success');
  });

  it('combines listed risks as 1 − Π(1 − p)', () => {
    const result = run([
      { skill: 'http_call', params: { url: EXTERNAL } },
      { skill: 'mystery', params: {} },
    ]);
    expect(result.metadata.cumulative_risk).toBe(0.252);
  });
});

describe('simulateV2: feasibility and warnings', () => {
  const expensive: RawPlanStep[] = [
    { skill: 'llm_invoke', params: { prompt: 'x'.repeat(5000) } },
    { skill: 'mystery', params: {} },
  ];

  it('budget: "Budget insufficient: need X cents, have Y"', () => {
    const result = run(expensive, { budget_cents: 10 });
    expect(result.warnings).toEqual(['Budget insufficient: need 17 cents, have 10']);
    expect(result.status).toBe('error');
    expect(result.feasible).toBe(false);
    expect(result.budget_remaining_cents).toBe(0);
    expect(result.metadata.budget_utilization).toBe(1.7);
    // only the llm step counts towards the alternative: 12.3 → 12
    expect(result.alternatives).toEqual([{ description: 'Reduce LLM calls', estimated_savings_cents: 12 }]);
  });

  it('budget: cost equal to the budget is enough', () => {
    const hello: RawPlanStep = { skill: 'llm_invoke', params: { prompt: 'Hello world' } };
    expect(run([hello], { budget_cents: 4 })).toMatchObject({ feasible: true, budget_remaining_cents: 0 });
    expect(run([hello], { budget_cents: 3 })).toMatchObject({
      feasible: false,
      budget_sufficient: false,
      budget_remaining_cents: 0,
      metadata: expect.objectContaining({ budget_utilization: 1.3333 }),
    });
  });

  it('budget: a zero budget divides by 1 for the utilization', () => {
    expect(run([{ skill: 'mystery', params: {} }], { budget_cents: 0 }).metadata.budget_utilization).toBe(5);
  });

  it('budget: no alternative when the plan has no llm step', () => {
    const result = run([{ skill: 'mystery', params: {} }], { budget_cents: 4 });
    expect(result.feasible).toBe(false);
    expect(result.alternatives).toEqual([]);
  });

  it("permissions: \"Permission denied for skills: ['a', 'b']\" in plan order, each once", () => {
    const result = run(
      [
        { skill: 'llm_invoke', params: {} },
        { skill: 'http_call', params: { url: LOCAL } },
        { skill: 'fs_read', params: {} },
        { skill: 'llm_invoke', params: {} },
      ],
      { allowed_skills: ['http_call'] },
    );
    expect(result.warnings).toEqual(["Permission denied for skills: ['llm_invoke', 'fs_read']"]);
    expect(result.permission_gaps).toEqual(['llm_invoke', 'fs_read']);
    expect(result).toMatchObject({ feasible: false, status: 'error', alternatives: [] });
  });

  it('permissions: an empty allow-list means no restriction', () => {
    expect(run([{ skill: 'fs_read', params: {} }], { allowed_skills: [] }).feasible).toBe(true);
  });

  it('risk: "Risk too high: A% > B%" with one decimal', () => {
    const result = run(
      [
        { skill: 'http_call', params: { url: EXTERNAL } },
        { skill: 'mystery', params: {} },
      ],
      { risk_threshold: 0.1 },
    );
    expect(result.warnings).toEqual(['Risk too high: 25.2% > 10.0%']);
    expect(result).toMatchObject({ feasible: false, status: 'error', budget_sufficient: true });
  });

  it('risk: cumulative risk equal to the threshold is acceptable (compared as floats)', () => {
    const mystery: RawPlanStep[] = [{ skill: 'mystery', params: {} }];
    // the cumulative risk is 1 − (1 − 0)(1 − 0.15) = 0.15000000000000002, as in the original
    expect(run(mystery, { risk_threshold: 1 - 0.85 }).feasible).toBe(true);
    expect(run(mystery, { risk_threshold: 0.15 }).warnings).toEqual(['Risk too high: 15.0% > 15.0%']);
    expect(run(mystery, { risk_threshold: 0.149 }).warnings).toEqual(['Risk too high: 15.0% > 14.9%']);
  });

  it('checks budget, then permissions, then risk; the first failure gives the only warning', () => {
    const all = { budget_cents: 5, allowed_skills: ['http_call'], risk_threshold: 0.01 };
    const failsAll = run(expensive, all);
    expect(failsAll.warnings).toEqual(['Budget insufficient: need 17 cents, have 5']);
    // the facts are still reported
    expect(failsAll.permission_gaps).toEqual(['llm_invoke', 'mystery']);
    expect(failsAll.metadata.cumulative_risk).toBe(0.1755);

    const failsPermissionsAndRisk = run(expensive, { ...all, budget_cents: 100 });
    expect(failsPermissionsAndRisk.warnings).toEqual([
      "Permission denied for skills: ['llm_invoke', 'mystery']",
    ]);

    const failsRisk = run(expensive, { ...all, budget_cents: 100, allowed_skills: null });
    // 1 − 0.97·0.85 is 0.17549999999999997 as a double, so Python's "%.1f" printed 17.5 too
    expect(failsRisk.warnings).toEqual(['Risk too high: 17.5% > 1.0%']);

    const passes = run(expensive, { budget_cents: 100, allowed_skills: null, risk_threshold: 0.5 });
    expect(passes).toMatchObject({ feasible: true, status: 'success', warnings: [] });
    expect([failsAll, failsPermissionsAndRisk, failsRisk].map((r) => [r.feasible, r.status])).toEqual([
      [false, 'error'],
      [false, 'error'],
      [false, 'error'],
    ]);
  });
});

describe('simulateV2: provenance fields and purity', () => {
  it('is a SimulationResultCore (compile-time check) with its own status values', () => {
    const core: SimulationResultCore = run([{ skill: 'kv_get', params: {} }]);
    expect(core.status).toBe('success');
  });

  it('carries runtime, model, adapter and commit from the options', () => {
    const result = simulateV2(input([{ skill: 'kv_get', params: {} }]), {
      modelVersion: '2.1.0-rc1',
      adapterVersion: 'adapter-7',
      commitSha: 'deadbeef',
      runtimeMs: 42,
    });
    expect(result.model_version).toBe('2.1.0-rc1');
    expect(result.runtime_ms).toBe(42);
    expect(result.metadata).toEqual({
      plan_steps: 1,
      cumulative_risk: 0,
      budget_utilization: 0,
      adapter_version: 'adapter-7',
      commit_sha: 'deadbeef',
    });
  });

  it('keeps the skill name as given for an unknown skill', () => {
    const result = run([{ params: {} }, { skill: 'my_tool', params: {} }]);
    expect(result.step_estimates.map((s) => [s.step_index, s.skill_id])).toEqual([
      [0, 'unknown'],
      [1, 'my_tool'],
    ]);
    expect(result.estimated_cost_cents).toBe(10);
  });

  it('is deterministic and does not touch its input', () => {
    const frozen = input([
      { skill: 'llm_invoke', params: { prompt: 'Hi' }, iterations: 2 },
      { skill: 'http_call', params: { url: EXTERNAL } },
    ]);
    const snapshot = JSON.stringify(frozen);
    const first = simulateV2(frozen, options);
    const second = simulateV2(frozen, options);
    expect(second).toEqual(first);
    expect(JSON.stringify(frozen)).toBe(snapshot);
  });
});

describe('pythonStrRepr / pythonListRepr', () => {
  it('prints like Python str(list)', () => {
    expect(pythonListRepr(['a', 'b'])).toBe("['a', 'b']");
    expect(pythonListRepr([])).toBe('[]');
  });

  it('chooses quotes and escapes like Python repr', () => {
    expect(pythonStrRepr("it's")).toBe('"it\'s"');
    expect(pythonStrRepr('q"\'')).toBe("'q\"\\''");
    expect(pythonStrRepr('x\\y')).toBe("'x\\\\y'");
    expect(pythonStrRepr('a\nb\tc')).toBe("'a\\nb\\tc'");
    expect(pythonStrRepr('a\u00a0b')).toBe("'a\\xa0b'");
    expect(pythonStrRepr('\u200b')).toBe("'\\u200b'");
    expect(pythonStrRepr('é😀 x')).toBe("'é😀 x'");
  });
});
