import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';
import {
  type BreakerList,
  type BreakerStateView,
  expectProblem,
  getJson,
  snapshot,
} from '../../support/breakerHttp';

/**
 * docs/api.md "Breakers": a breaker exists once declared (costsim_v2 always; others by PUT or COSTSIM_BREAKERS).
 * Every route on an undeclared name answers 404 and writes nothing, so a typo (costsim-v2) can never open
 * an incident and fire an alert for a breaker that gates nothing, nor add metric series.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ COSTSIM_BREAKERS: 'pricing_v3', COSTSIM_METRICS_DETAIL: 'true' });
});
afterAll(async () => t?.stop());

const TYPO = 'costsim-v2';
const routes: Array<[string, string, string, unknown]> = [
  ['GET', `/costsim/breakers/${TYPO}`, testKeys.read, undefined],
  ['POST', `/costsim/breakers/${TYPO}/drift`, testKeys.write, { drift_score: 0.9 }],
  ['POST', `/costsim/breakers/${TYPO}/schema-errors`, testKeys.write, { error_count: 9 }],
  ['POST', `/costsim/breakers/${TYPO}/disable`, testKeys.admin, { reason: 'typo' }],
  ['POST', `/costsim/breakers/${TYPO}/enable`, testKeys.admin, {}],
  ['GET', `/costsim/breakers/${TYPO}/history`, testKeys.read, undefined],
  ['GET', `/costsim/breakers/${TYPO}/incidents`, testKeys.read, undefined],
  ['GET', `/costsim/breakers/${TYPO}?tenant_id=tenant-a`, testKeys.read, undefined],
];

test('an undeclared breaker: 404 "Breaker not found" on every route, nothing written, no metric series', async () => {
  const before = await snapshot(t.db);
  for (const [method, path, key, body] of routes) {
    const res = await t.call(method, path, { key, ...(body !== undefined ? { body } : {}) });
    const { problem } = await expectProblem(res, 404);
    expect({ path, detail: problem.detail }).toEqual({ path, detail: `Breaker not found: ${TYPO}` });
  }
  expect(await snapshot(t.db)).toEqual(before);
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  expect(metrics).not.toContain(TYPO);
  // An invalid name is still a 400 naming the path parameter, not a 404.
  const bad = await t.call('GET', '/costsim/breakers/Not_Valid', { key: testKeys.read });
  expect((await expectProblem(bad, 400)).problem.errors).toEqual([
    { path: 'path.name', message: expect.any(String) },
  ]);
});

test('PUT declares: admin only, a global key only, 201 then 200 (idempotent), recorded as events', async () => {
  const put = (key: string | undefined, body?: unknown) =>
    t.call('PUT', '/costsim/breakers/ranker.beta', { ...(key ? { key } : {}), ...(body ? { body } : {}) });
  await expectProblem(await put(undefined, {}), 401);
  await expectProblem(await put(testKeys.read, {}), 403);
  await expectProblem(await put(testKeys.tenantAAdmin, {}), 403); // a tenant admin cannot declare
  await expectProblem(await put(testKeys.admin, { description: 'x'.repeat(501) }), 400);
  await expectProblem(await put(testKeys.admin, { colour: 'red' }), 400);
  expect(
    (await getJson<{ events: unknown[] }>(t, '/costsim/breakers/costsim_v2/history')).events,
  ).toBeDefined();
  await expectProblem(await t.call('GET', '/costsim/breakers/ranker.beta', { key: testKeys.read }), 404);

  const first = await put(testKeys.admin, { description: 'Ranker beta rollout' });
  expect(first.status).toBe(201);
  const declared = (await first.json()) as { name: string; description: string; declared_at: string };
  expect(declared).toEqual({
    name: 'ranker.beta',
    description: 'Ranker beta rollout',
    declared_at: expect.stringMatching(/Z$/),
  });
  const again = await put(testKeys.admin, { description: 'Ranker beta rollout' });
  expect(again.status).toBe(200);
  expect(await again.json()).toEqual(declared);
  const noBody = await put(testKeys.admin);
  expect(noBody.status).toBe(200);
  expect(await noBody.json()).toEqual(declared); // no description given: kept
  const renamed = await put(testKeys.admin, { description: 'Ranker beta, 10 % traffic' });
  expect(renamed.status).toBe(200);
  expect(await renamed.json()).toEqual({ ...declared, description: 'Ranker beta, 10 % traffic' });

  const { rows } = await t.db.pool.query<{ event_type: string; data: { actor: string } }>(
    `select event_type, data from es_events where stream_name = 'breaker_declaration-ranker.beta'
      order by stream_version`,
  );
  expect(rows.map((r) => [r.event_type, r.data.actor])).toEqual([
    ['BreakerDeclared', 'admin'],
    ['BreakerDescriptionChanged', 'admin'],
  ]);

  // Declared with no events: closed, version 0, for every tenant scope; listed; usable at once.
  const state = await getJson<BreakerStateView>(t, '/costsim/breakers/ranker.beta');
  expect(state).toMatchObject({ name: 'ranker.beta', tenant_id: null, open: false, version: 0 });
  const scoped = await getJson<BreakerStateView>(t, '/costsim/breakers/ranker.beta?tenant_id=tenant-a');
  expect(scoped).toMatchObject({ tenant_id: 'tenant-a', open: false, version: 0 });
  const list = await getJson<BreakerList>(t, '/costsim/breakers', testKeys.admin);
  expect(list.breakers.map((b) => b.name)).toEqual(
    expect.arrayContaining(['costsim_v2', 'pricing_v3', 'ranker.beta']),
  );
  const disabled = await t.call('POST', '/costsim/breakers/ranker.beta/disable', {
    key: testKeys.admin,
    body: { reason: 'declared, then disabled' },
  });
  expect(disabled.status).toBe(200);
});

test('COSTSIM_BREAKERS declares at start, once, whatever the number of starts', async () => {
  const state = await getJson<BreakerStateView>(t, '/costsim/breakers/pricing_v3');
  expect(state).toMatchObject({ name: 'pricing_v3', open: false, version: 0 });
  const second = await startTestService({ COSTSIM_BREAKERS: 'pricing_v3' }, t.db);
  try {
    const { rows } = await t.db.pool.query<{ event_type: string; data: { actor: string } }>(
      `select event_type, data from es_events where stream_name = 'breaker_declaration-pricing_v3'`,
    );
    expect(rows.map((r) => [r.event_type, r.data.actor])).toEqual([
      ['BreakerDeclared', 'config:COSTSIM_BREAKERS'],
    ]);
  } finally {
    await second.stop();
  }
});
