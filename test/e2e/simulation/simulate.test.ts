import { klDivergence } from '../../../src/domain/canary/canaryStatistics';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * POST /costsim/v2/simulate end to end: V1 answers; with the sandbox on, V2 runs beside it, the pair is
 * recorded as provenance and observed by the breaker; drift trips the breaker, after which V2 stops
 * running while V1 keeps answering.
 */
const services: TestService[] = [];
afterAll(async () => {
  for (const s of services) await s.stop();
});
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
    expect(body.comparison).toEqual({
      verdict: 'minor_drift',
      v1_cost_cents: 5,
      v2_cost_cents: 4,
      cost_delta_cents: -1,
      cost_delta_pct: 0.2,
      drift_score: 0.12,
      feasibility_match: true,
    });
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

  test('three major drifts trip the breaker (P1); then V2 no longer runs and V1 still answers', async () => {
    for (let i = 0; i < 3; i++) {
      const { body } = await simulate(t, { plan: [{ skill: 'teleport' }], budget_cents: 100 });
      expect((body.comparison as { drift_score: number }).drift_score).toBe(0.3);
    }
    const trips = (await events(t, 'breaker-costsim_v2')).filter((e) => e.event_type === 'BreakerTripped');
    expect(trips.map((e) => e.data.severity)).toEqual(['P1']);
    await eventually(async () => {
      const { body } = await simulate(t, { plan: [{ skill: 'teleport' }], budget_cents: 100 });
      expect(body).not.toHaveProperty('v2_result');
      expect(body).toMatchObject({ v1_cost_cents: 10, sandbox_enabled: true });
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
