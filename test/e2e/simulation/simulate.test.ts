import { klDivergence } from '../../../src/domain/canary/canaryStatistics';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

// Tests start whole services (a fresh database each): generous on a shared machine.
jest.setTimeout(60_000);
/**
 * POST /costsim/v2/simulate end to end: V1 answers; with the sandbox on, V2 runs beside it, the pair is
 * recorded as provenance and observed by the breaker; drift trips the breaker, after which V2 stops
 * running while V1 keeps answering.
 */
const services: TestService[] = [];
afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
}, 60_000);
const start = async (env: Record<string, string>) => {
  const t = await startTestService(env);
  services.push(t);
  return t;
};
const simulate = async (t: TestService, body: unknown, key: string = testKeys.write) => {
  const res = await t.call('POST', '/costsim/v2/simulate', { key, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const events = async (t: TestService, stream: string) =>
  (
    await t.db.pool.query<{ event_type: string; data: { drift_score?: number; severity?: string } }>(
      `select event_type, data from es_events where stream_name = $1 order by stream_version`,
      [stream],
    )
  ).rows;

test('sandbox off: V1 answers alone; nothing recorded, nothing observed', async () => {
  const t = await start({});
  const { status, body } = await simulate(t, {
    plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }],
  });
  expect(status).toBe(200);
  expect(body).toMatchObject({
    v1_feasible: true,
    v1_cost_cents: 5,
    v1_duration_ms: 2000,
    sandbox_enabled: false,
  });
  expect(body).not.toHaveProperty('v2_result');
  expect(body).not.toHaveProperty('provenance_id');
  expect(typeof body.run_id).toBe('string');
  const { rows } = await t.db.pool.query(`select count(*)::int as n from es_events`);
  expect(rows[0].n).toBe(0);
});

describe('sandbox on', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await start({ COSTSIM_V2_SANDBOX: 'true' });
  });

  test('the pair is compared, recorded as provenance and observed by the global breaker', async () => {
    const { body } = await simulate(t, {
      plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }],
      budget_cents: 100,
      run_id: 'run-hello',
    });
    // the full comparison object (docs/domain.md §2.3), as the original's clients read it
    expect(body.comparison).toEqual({
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
    expect(Object.keys(body)).toEqual([
      'v1_feasible',
      'v1_cost_cents',
      'v1_duration_ms',
      'v1_result',
      'v2_result',
      'comparison',
      'sandbox_enabled',
      'run_id',
      'provenance_id',
    ]);
    expect(body.run_id).toBe('run-hello');
    expect(body).not.toHaveProperty('v2_error');
    const id = body.provenance_id as string;
    await eventually(async () => {
      const { rows } = await t.db.pool.query(`select * from provenance where id = $1`, [id]);
      expect(rows[0]).toMatchObject({
        run_id: 'run-hello',
        variant_slug: 'v2',
        source: 'sandbox',
        v1_cost: 5,
      });
      expect(rows[0].v2_cost).toBe(4);
      expect(rows[0].cost_delta).toBe(-1);
    });
    expect((await events(t, 'breaker-costsim_v2')).map((e) => [e.event_type, e.data.drift_score])).toEqual([
      ['DriftObserved', 0.12],
    ]);
  });

  test('three mismatches trip the breaker (P1); then V2 no longer runs and V1 still answers', async () => {
    for (let i = 0; i < 3; i++) {
      const { body } = await simulate(t, { plan: [{ skill: 'teleport' }], budget_cents: 100 });
      expect(body.comparison).toMatchObject({ drift_score: 0.3, verdict: 'mismatch' });
      // the original's text on the request whose drift report tripped the breaker
      if (i === 2)
        expect(body.v2_error).toBe('Circuit breaker tripped: Drift exceeded threshold: 0.3000 > 0.2');
      else expect(body).not.toHaveProperty('v2_error');
    }
    const trips = (await events(t, 'breaker-costsim_v2')).filter((e) => e.event_type === 'BreakerTripped');
    expect(trips.map((e) => e.data.severity)).toEqual(['P1']);
    await eventually(async () => {
      const { body } = await simulate(t, { plan: [{ skill: 'teleport' }], budget_cents: 100 });
      expect(body).not.toHaveProperty('v2_result');
      expect(body).toMatchObject({
        v1_cost_cents: 10,
        sandbox_enabled: true,
        v2_error: 'V2 disabled by circuit breaker',
      });
    });
  });
});

test('COSTSIM_BREAKER_SCOPE=tenant: a tenant drifts its own breaker, not the global one', async () => {
  const t = await start({ COSTSIM_V2_SANDBOX: 'true', COSTSIM_BREAKER_SCOPE: 'tenant' });
  const { body } = await simulate(t, { plan: [{ skill: 'teleport' }] }, testKeys.tenantA);
  expect(body.provenance_id).toBeDefined();
  expect(await events(t, 'breaker-costsim_v2@tenant-a')).toHaveLength(1);
  expect(await events(t, 'breaker-costsim_v2')).toHaveLength(0);
  const forOther = await simulate(t, { plan: [], tenant_id: 'tenant-b' }, testKeys.tenantA);
  expect(forOther.status).toBe(403);
});

test('bad input is a problem naming the field and records nothing', async () => {
  const t = await start({ COSTSIM_V2_SANDBOX: 'true' });
  const cases: Array<[unknown, string]> = [
    [{ plan: Array.from({ length: 101 }, () => ({ skill: 'kv_get' })) }, 'plan'],
    [{ plan: [{ skill: 'kv_get', iterations: 0 }] }, 'plan.0.iterations'],
    [{ plan: [{ skill: 'kv_get' }], risk_threshold: 2 }, 'risk_threshold'],
    [{ plan: [{ skill: 'kv_get' }], budget_cents: -1 }, 'budget_cents'],
    [{ plan: [{ skill: 'kv_get', cost: 3 }] }, 'plan.0.cost'],
    [{}, 'plan'],
  ];
  for (const [body, field] of cases) {
    const res = await t.call('POST', '/costsim/v2/simulate', { key: testKeys.write, body });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: Array<{ path: string }> };
    expect(problem.errors.map((e) => e.path)).toContain(field);
  }
  expect((await simulate(t, { plan: [] }, testKeys.read)).status).toBe(403);
  const { rows } = await t.db.pool.query(`select count(*)::int as n from es_events`);
  expect(rows[0].n).toBe(0);
});

test('GET /costsim/divergence reports on the recorded pairs of the window, with the canary statistics', async () => {
  const t = await start({ COSTSIM_V2_SANDBOX: 'true' });
  const plans = [
    [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }], // 5 vs 4: minor
    [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }],
    [{ skill: 'kv_get' }], // 0 vs 0: match
    [{ skill: 'kv_get' }],
    [{ skill: 'kv_get' }],
    [{ skill: 'teleport' }], // 10 vs 5: major (one, so no trip)
  ];
  for (const plan of plans) expect((await simulate(t, { plan, budget_cents: 100 })).status).toBe(200);
  const report = await eventually(async () => {
    const res = await t.call('GET', '/costsim/divergence?days=1', { key: testKeys.read });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown> & { detailed_samples: unknown[] };
    expect(body.sample_count).toBe(6);
    return body;
  });
  expect(report).toMatchObject({
    version: '2.0.0',
    delta_p50: 1, // |Δ| sorted 0,0,0,1,1,5: element 3
    delta_p90: 5, // element ⌊5.4⌋
    outlier_count: 0,
    matching_rate: 0.5,
    fail_ratio: 0.1667,
    kl_divergence: klDivergence([5, 5, 0, 0, 0, 10], [4, 4, 0, 0, 0, 5]),
  });
  expect(report.kl_divergence).toBeGreaterThan(0);
  expect(report.detailed_samples).toHaveLength(6);
  const empty = await t.call('GET', '/costsim/divergence?start_date=2020-01-01&end_date=2020-01-31', {
    key: testKeys.read,
  });
  expect(await empty.json()).toMatchObject({ sample_count: 0, kl_divergence: 0, matching_rate: 0 });
  expect((await t.call('GET', '/costsim/divergence?days=91', { key: testKeys.read })).status).toBe(400);
});

test('the input hash sees the numbers as written (30.0 is a float) and rows carry both hashes', async () => {
  const t = await start({ COSTSIM_V2_SANDBOX: 'true' });
  const raw = (timeout: string) =>
    `{"plan":[{"skill":"http_call","params":{"timeout":${timeout},"url":"https://api.example.com"}}],"budget_cents":100}`;
  const ids: string[] = [];
  for (const timeout of ['30.0', '30']) {
    const res = await t.call('POST', '/costsim/v2/simulate', { key: testKeys.write, body: raw(timeout) });
    expect(res.status).toBe(200);
    ids.push(((await res.json()) as { provenance_id: string }).provenance_id);
  }
  const rows = await eventually(async () => {
    const { rows } = await t.db.pool.query<{ id: string; input_hash: string; output_hash: string }>(
      `select id, input_hash, output_hash from provenance where id = any($1::uuid[])`,
      [ids],
    );
    expect(rows).toHaveLength(2);
    return new Map(rows.map((r) => [r.id, r]));
  });
  // CPython: sha256(json.dumps({"plan":plan,"budget_cents":100}, sort_keys=True, separators=(",",":")))
  expect(rows.get(ids[0]!)!.input_hash).toBe(
    'fe85b8fa9fe89ef79b0c234b1f11cc0ed7cdef8f3f425718420221d7886a6b77',
  );
  expect(rows.get(ids[1]!)!.input_hash).toBe(
    'd8b55e7fed92ac62857c2a0349112a722715a523975a15195caea3390ee3123c',
  );
  // V2's output hash with its step numbers as floats (0.0, 500.0), computed by CPython
  expect(rows.get(ids[0]!)!.output_hash).toBe(
    '48a480655e60bfc48aca7fced160ada111961390314fd1dd9872d3c7ae5bcf9b',
  );
  // a key given twice with different values is ambiguous: 400, nothing recorded
  const dup = await t.call('POST', '/costsim/v2/simulate', {
    key: testKeys.write,
    body: '{"plan":[{"skill":"kv_get","params":{"a":1,"a":2}}]}',
  });
  expect(dup.status).toBe(400);
  expect(((await dup.json()) as { errors: Array<{ path: string }> }).errors[0]!.path).toBe('body');
});

test('metrics at the point of comparison, on the service registry, without tenant labels', async () => {
  const t = await start({ COSTSIM_V2_SANDBOX: 'true' });
  await simulate(t, { plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }] }, testKeys.tenantA);
  const text = await (await t.call('GET', '/metrics')).text();
  expect(text).toMatch(/costsim_v2_drift_score_count(?:\{[^}]*\})? 1/);
  expect(text).toMatch(/costsim_v2_cost_delta_cents_sum(?:\{[^}]*\})? -1/);
  expect(text).toMatch(/costsim_v2_comparison_verdict_total\{[^}]*verdict="minor_drift"[^}]*\} 1/);
  expect(text).toMatch(/costsim_v2_simulation_duration_seconds_count\{[^}]*engine="v1"[^}]*\} 1/);
  expect(text).toMatch(/costsim_v2_simulation_duration_seconds_count\{[^}]*engine="v2_builtin"[^}]*\} 1/);
  expect(text).toMatch(/costsim_v2_simulations_total\{[^}]*status="success"[^}]*\} 1/);
  expect(text).toMatch(/costsim_v2_schema_errors_total(?:\{[^}]*\})? 0/);
  expect(text.split('\n').filter((l) => l.startsWith('costsim_v2_') && l.includes('tenant'))).toEqual([]);
});
