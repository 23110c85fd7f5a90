import { parse } from 'lossless-json';
import { outputHash } from '../../../src/domain/simulation/simulationHashes';
import { type RawPlanStep, normalizeInput } from '../../../src/domain/simulation/simulationInput';
import {
  V2_SKILLS,
  type V2Result,
  simulateV2,
  v2IntegralLatencySteps,
} from '../../../src/domain/simulation/v2Simulator';

type Request = Parameters<typeof normalizeInput>[0];
const options = { modelVersion: '2.0.0', adapterVersion: '2.0.0', commitSha: 'unknown', runtimeMs: 0 };
const run = (plan: readonly RawPlanStep[], over: Omit<Partial<Request>, 'plan'> = {}): V2Result =>
  simulateV2(normalizeInput({ budget_cents: 100, ...over, plan }), options);
const onlyStep = (r: V2Result) => {
  expect(r.step_estimates).toHaveLength(1);
  return r.step_estimates[0]!;
};

/**
 * docs/domain.md §2.2. Python-dependent expectations (float sums, round, f-strings, json.dumps + sha256) were
 * computed with CPython 3.11 (python3 on this machine); see also pythonReference.test.ts (300 plans).
 */
describe('V2 answer: the original fields, exactly', () => {
  test('llm_invoke "Hello world": the whole answer in the original field order', () => {
    const r = run([{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }]);
    expect(r).toEqual({
      feasible: true,
      status: 'success',
      estimated_cost_cents: 4,
      estimated_duration_ms: 1802,
      budget_remaining_cents: 96,
      confidence_score: 0.92,
      model_version: '2.0.0',
      step_estimates: [
        { step_index: 0, skill_id: 'llm_invoke', cost_cents: 3.54, latency_ms: 1802.2, confidence: 0.92 },
      ],
      risks: [{ step_index: 0, skill_id: 'llm_invoke', risk_type: 'rate_limit', probability: 0.03 }],
      warnings: [],
      metadata: {
        plan_steps: 1,
        cumulative_risk: 0.03,
        budget_utilization: 0.04,
        adapter_version: '2.0.0',
        commit_sha: 'unknown',
      },
      runtime_ms: 0,
    });
    expect(Object.keys(r)).toEqual([
      'feasible',
      'status',
      'estimated_cost_cents',
      'estimated_duration_ms',
      'budget_remaining_cents',
      'confidence_score',
      'model_version',
      'step_estimates',
      'risks',
      'warnings',
      'metadata',
      'runtime_ms',
    ]);
    // step estimates carry exactly these five fields
    expect(Object.keys(r.step_estimates[0]!)).toEqual([
      'step_index',
      'skill_id',
      'cost_cents',
      'latency_ms',
      'confidence',
    ]);
  });

  test('empty plan: schema_error, confidence 0, remaining = budget, the warning, metadata {}', () => {
    expect(run([], { budget_cents: 7 })).toEqual({
      feasible: false,
      status: 'schema_error',
      estimated_cost_cents: 0,
      estimated_duration_ms: 0,
      budget_remaining_cents: 7,
      confidence_score: 0,
      model_version: '2.0.0',
      step_estimates: [],
      risks: [],
      warnings: ['Empty plan provided'],
      metadata: {},
      runtime_ms: 0,
    });
  });

  test('the table', () => {
    const cases: Array<[string, number, number, number]> = [
      ['json_transform', 0, 5, 0.98],
      ['fs_read', 0, 30, 0.95],
      ['fs_write', 0, 50, 0.94],
      ['kv_get', 0, 3, 0.97],
      ['kv_set', 0, 5, 0.97],
      ['webhook_send', 0, 200, 0.9],
      ['email_send', 0.8, 350, 0.93],
      ['teleport', 5, 500, 0.6],
    ];
    for (const [skill, cost, latency, confidence] of cases) {
      expect(onlyStep(run([{ skill }]))).toEqual({
        step_index: 0,
        skill_id: skill,
        cost_cents: cost,
        latency_ms: latency,
        confidence,
      });
    }
    expect(Object.keys(V2_SKILLS)).toHaveLength(11);
  });

  test('risks: every factor above 0.02, unrounded, without description; cumulative over the listed ones only', () => {
    const r = run([
      { skill: 'http_call', params: { url: 'https://x' } }, // 0.08 × 1.5
      { skill: 'fs_write' }, // 0.02: not listed
      { skill: 'kv_get' }, // 0.01: not listed
      { skill: 'email_send' }, // 0.03
    ]);
    expect(r.risks).toEqual([
      // python3 -c "print(repr(0.08*1.5))" → 0.12
      { step_index: 0, skill_id: 'http_call', risk_type: 'timeout', probability: 0.12 },
      { step_index: 3, skill_id: 'email_send', risk_type: 'delivery', probability: 0.03 },
    ]);
    // python3: r=0.0; for p in [0.12,0.03]: r=1.0-((1.0-r)*(1.0-p)); round(r,4) → 0.1464
    expect(r.metadata).toMatchObject({ cumulative_risk: 0.1464 });
  });
});

describe('modifiers', () => {
  test('llm_invoke: output min(2L, 4000); confidence × 0.95 above 2000 and × 0.90 more above 4000; code points', () => {
    expect(onlyStep(run([{ skill: 'llm_invoke', params: { prompt: 'x'.repeat(2001) } }])).confidence).toBe(
      0.874,
    );
    expect(onlyStep(run([{ skill: 'llm_invoke', params: { prompt: 'x'.repeat(4001) } }])).confidence).toBe(
      0.7866,
    );
    expect(onlyStep(run([{ skill: 'llm_invoke', params: { prompt: '😀'.repeat(2001) } }])).confidence).toBe(
      0.874,
    );
  });

  test("llm_invoke: a non-string prompt is measured as Python's str(): {'a': 1} is 8 characters", () => {
    // python3: L=len(str({'a':1})); c=3.5+(L/1000)*0.8+(min(2*L,4000)/1000)*1.2; round(c,2), round(1800.0+(L/1000)*200.0,2)
    expect(onlyStep(run([{ skill: 'llm_invoke', params: { prompt: { a: 1 } } }]))).toMatchObject({
      cost_cents: 3.53,
      latency_ms: 1801.6,
    });
  });

  test('http_call: latency min(500, timeout × 1000) with 30 s by default; external url: risk × 1.5, confidence × 0.95', () => {
    expect(
      onlyStep(run([{ skill: 'http_call', params: { url: 'http://localhost:1/x', timeout: 0.2 } }])),
    ).toMatchObject({ latency_ms: 200, confidence: 0.85 });
    expect(run([{ skill: 'http_call', params: { url: 'http://127.0.0.1/' } }]).risks[0]!.probability).toBe(
      0.08,
    );
    expect(onlyStep(run([{ skill: 'http_call' }]))).toMatchObject({ latency_ms: 500, confidence: 0.8075 });
  });

  test('shell_lite: a command longer than 100 code points: risk × 1.2, confidence × 0.95', () => {
    expect(onlyStep(run([{ skill: 'shell_lite', params: { command: 'c'.repeat(100) } }])).confidence).toBe(
      0.88,
    );
    const long = run([{ skill: 'shell_lite', params: { command: 'c'.repeat(101) } }]);
    expect([onlyStep(long).confidence, long.risks[0]!.probability]).toEqual([0.836, 0.07 * 1.2]);
  });

  test('fix: iterations as in V1 — cost and latency × n, risk 1 − (1 − p)^n; confidence unchanged', () => {
    const r = run([{ skill: 'http_call', params: { url: 'https://x' }, iterations: 2 }]);
    expect(onlyStep(r)).toEqual({
      step_index: 0,
      skill_id: 'http_call',
      cost_cents: 0,
      latency_ms: 1000,
      confidence: 0.8075,
    });
    // python3 -c "print(repr(1.0-((1.0-0.08*1.5)**2)))" → 0.22560000000000002
    expect(r.risks).toEqual([
      { step_index: 0, skill_id: 'http_call', risk_type: 'timeout', probability: 0.22560000000000002 },
    ]);
    // totals rounded half to even once, on the sum: 3.5 × 3 = 10.5 → 10
    expect(run([{ skill: 'llm_invoke', iterations: 3 }]).estimated_cost_cents).toBe(10);
  });
});

describe('feasibility: the first failing check gives the only warning', () => {
  test('budget: "Budget insufficient: need X cents, have Y"; remaining below zero', () => {
    const r = run([{ skill: 'teleport' }], { budget_cents: 3 });
    expect(r).toMatchObject({
      feasible: false,
      status: 'error',
      budget_remaining_cents: -2,
      warnings: ['Budget insufficient: need 5 cents, have 3'],
    });
  });

  test('permissions: every gap in step order, duplicates kept, Python list repr', () => {
    const r = run([{ skill: 'teleport' }, { skill: 'kv_get' }, { skill: 'teleport' }], {
      budget_cents: 1000,
      allowed_skills: ['kv_get'],
    });
    expect(r.warnings).toEqual(["Permission denied for skills: ['teleport', 'teleport']"]);
  });

  test('risk: "Risk too high: A% > B%", both .1f (ties to even on the exact value)', () => {
    const r = run(
      [{ skill: 'http_call' }, { skill: 'shell_lite' }, { skill: 'webhook_send' }, { skill: 'teleport' }],
      {
        budget_cents: 1000,
        risk_threshold: 0.25,
      },
    );
    expect(r.warnings).toEqual(['Risk too high: 36.0% > 25.0%']);
    // 0.00125 × 100 = 0.125 → "0.1" (Python), where toFixed(1) gives "0.1" too; 0.0025 × 100 = 0.25 → "0.2"
    expect(run([{ skill: 'email_send' }], { risk_threshold: 0.0025 }).warnings).toEqual([
      'Risk too high: 3.0% > 0.2%',
    ]);
  });
});

describe('output hash (domain.md §2.3): step-estimate numbers as floats', () => {
  test('one external http_call hashes as CPython hashed it (0.0, 500.0)', () => {
    // python3: json.dumps({"feasible":True,"status":"success","estimated_cost_cents":0,"estimated_duration_ms":500,
    //   "step_estimates":[{"step_index":0,"skill_id":"http_call","cost_cents":0.0,"latency_ms":500.0,
    //   "confidence":0.8075}]},sort_keys=True,separators=(",",":")) → sha256
    const r = run([{ skill: 'http_call', params: { url: 'https://api.example.com' } }]);
    expect(outputHash(r)).toBe('48a480655e60bfc48aca7fced160ada111961390314fd1dd9872d3c7ae5bcf9b');
    // the same numbers as ints would hash differently (what the code did before)
    expect(outputHash(r)).not.toBe('fc07181467c13513790098f1bb2b7d971b659eb8bb0166784a271ac6bddc3b96');
  });

  test('a latency the original computed as an int (an int timeout of 0: min(500.0, 0) is 0) hashes as an int', () => {
    const input = normalizeInput({
      plan: [{ skill: 'http_call', params: parse('{"timeout":0}') as Record<string, unknown> }],
    });
    expect([...v2IntegralLatencySteps(input)]).toEqual([0]);
    const floatTimeout = normalizeInput({
      plan: [{ skill: 'http_call', params: parse('{"timeout":0.0}') as Record<string, unknown> }],
    });
    expect([...v2IntegralLatencySteps(floatTimeout)]).toEqual([]);
  });
});
