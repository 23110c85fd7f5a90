import { randomUUID } from 'node:crypto';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * One request never fails its neighbours (issue #8 point 4): a simulate whose run_id holds U+0000, sent
 * among 16 other clients' simulates and operators' drift reports — which share group commits on the
 * costsim_v2 stream — fails alone with 400, and every other drift observation is stored. (That the group
 * commit itself contains a command PostgreSQL refuses is shown in
 * test/integration/commands/groupCommitContainment.test.ts: the edge now stops this one first.)
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ COSTSIM_V2_SANDBOX: 'true' });
});
afterAll(async () => t?.stop());

const CLIENTS = 16;
const ROUNDS = 8;
const plan = [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }];

test('a NUL in run_id among 16 clients: only it fails; every other drift observation is stored', async () => {
  const good: string[] = [];
  const answers: Array<{ kind: string; status: number; body: Record<string, unknown> }> = [];
  const post = async (kind: string, path: string, key: string, body: unknown) => {
    const res = await t.call('POST', path, { key, body });
    answers.push({ kind, status: res.status, body: (await res.json()) as Record<string, unknown> });
  };
  await Promise.all([
    ...Array.from({ length: CLIENTS }, async (_, c) => {
      for (let r = 0; r < ROUNDS; r++) {
        const run_id = `neighbour-${c}-${r}-${randomUUID()}`;
        good.push(run_id);
        await post('simulate', '/costsim/v2/simulate', testKeys.write, { plan, run_id });
      }
    }),
    (async () => {
      for (let r = 0; r < ROUNDS; r++) {
        await post('poison', '/costsim/v2/simulate', testKeys.write, { plan, run_id: `bad\u0000${r}` });
      }
    })(),
    (async () => {
      for (let r = 0; r < ROUNDS; r++) {
        await post('operator', '/costsim/breakers/costsim_v2/drift', testKeys.admin, {
          drift_score: 0.05,
          details: { operator_report: r },
        });
      }
    })(),
  ]);

  const poison = answers.filter((a) => a.kind === 'poison');
  expect(poison.map((a) => a.status)).toEqual(Array(ROUNDS).fill(400));
  for (const a of poison) {
    expect((a.body.errors as Array<{ path: string }>).map((e) => e.path)).toEqual(['run_id']);
  }
  const simulated = answers.filter((a) => a.kind === 'simulate');
  expect(simulated.filter((a) => a.status !== 200 || a.body.v2_error !== undefined)).toEqual([]);
  expect(simulated).toHaveLength(CLIENTS * ROUNDS);
  const operator = answers.filter((a) => a.kind === 'operator');
  expect(operator.map((a) => a.status)).toEqual(Array(ROUNDS).fill(200));

  // Every drift observation is in the log: one per good simulate (its run_id in the details), one per report.
  const { rows } = await t.db.pool.query<{ run_id: string | null; operator: string | null }>(
    `select data->'details'->>'run_id' as run_id, data->'details'->>'operator_report' as operator
       from es_events where stream_name = 'breaker-costsim_v2' and event_type = 'DriftObserved'`,
  );
  expect(
    rows
      .filter((r) => r.run_id !== null)
      .map((r) => r.run_id)
      .sort(),
  ).toEqual([...good].sort());
  expect(rows.filter((r) => r.operator !== null)).toHaveLength(ROUNDS);

  // V2 ran for each good request, once (counted in provenance), and never for a refused one.
  await eventually(async () => {
    const { rows: v2 } = await t.db.pool.query<{ n: number; bad: number }>(
      `select count(*) filter (where run_id = any($1))::int as n,
              count(*) filter (where run_id like 'bad%')::int as bad
         from provenance where variant_slug = 'v2'`,
      [good],
    );
    expect(v2[0]).toEqual({ n: CLIENTS * ROUNDS, bad: 0 });
  });
  const state = await (await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.read })).json();
  expect(state).toMatchObject({ open: false, consecutive_failures: 0, version: CLIENTS * ROUNDS + ROUNDS });
});
