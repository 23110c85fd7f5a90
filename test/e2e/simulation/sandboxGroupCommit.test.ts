import { randomUUID } from 'node:crypto';
import {
  DRIFT_NOT_RECORDED_TEXT,
  PROVENANCE_NOT_RECORDED_TEXT,
} from '../../../src/domain/simulation/v2Engine';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * The sandbox's group commit (issue #7): concurrent simulate requests' provenance records and drift
 * observations are stored by ONE statement per batch (es_append_with), each request answered only once its
 * own record and observation are stored. Shown against the real database: under 200 concurrent requests
 * every answer has exactly one record and one observation, committed together; a write PostgreSQL refuses
 * (a trigger in this test's own database) fails only its own part of its own request.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ COSTSIM_V2_SANDBOX: 'true' });
});
afterAll(async () => t?.stop());

const plans = [
  { plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }], budget_cents: 100 },
  { plan: [{ skill: 'http_call', params: { url: 'https://api.example.com', timeout: 30 } }] },
  {
    plan: [
      { skill: 'kv_get', params: { key: 'a' } },
      { skill: 'fs_read', params: { path: '/tmp/x' } },
    ],
    budget_cents: 1000,
  },
];

interface Answer {
  status: number;
  body: { run_id: string; provenance_id?: string; v2_error?: string };
}

async function simulateAll(runIds: readonly string[]): Promise<Answer[]> {
  return Promise.all(
    runIds.map(async (run_id, i) => {
      const res = await t.call('POST', '/costsim/v2/simulate', {
        key: testKeys.write,
        body: { ...plans[i % plans.length], run_id },
      });
      return { status: res.status, body: (await res.json()) as Answer['body'] };
    }),
  );
}

/** The stored events of these runs: [run_id, event_type, provenance id or null, transaction id]. */
async function eventsOf(runIds: readonly string[]) {
  const { rows } = await t.db.pool.query<{
    run_id: string;
    event_type: string;
    stream_name: string;
    id: string | null;
    tx: string;
  }>(
    `select coalesce(data->>'run_id', data->'details'->>'run_id') as run_id, event_type, stream_name,
            data->>'id' as id, transaction_id::text as tx
       from es_events
      where coalesce(data->>'run_id', data->'details'->>'run_id') = any($1)`,
    [runIds],
  );
  return rows;
}

test('200 concurrent simulates: each answer has exactly one record and one observation, committed together', async () => {
  const runIds = Array.from({ length: 200 }, (_, i) => `concurrent-${i}-${randomUUID()}`);
  const answers = await simulateAll(runIds);
  expect(answers.filter((a) => a.status !== 200 || a.body.v2_error !== undefined)).toEqual([]);
  expect(answers.map((a) => a.body.run_id)).toEqual(runIds);

  // Stored before the answer: the log already holds them when the last answer is in.
  const rows = await eventsOf(runIds);
  for (const [i, runId] of runIds.entries()) {
    const mine = rows.filter((r) => r.run_id === runId);
    const records = mine.filter((r) => r.event_type === 'ProvenanceRecorded');
    const observations = mine.filter((r) => r.event_type === 'DriftObserved');
    expect(records.map((r) => r.id)).toEqual([answers[i]!.body.provenance_id]);
    expect(observations.map((r) => r.stream_name)).toEqual(['breaker-costsim_v2']);
    // One commit for both.
    expect(records[0]!.tx).toBe(observations[0]!.tx);
  }
  // Grouped: fewer commits than requests, and every commit holds as many records as observations.
  const byTx = new Map<string, { records: number; observations: number }>();
  for (const r of rows) {
    const n = byTx.get(r.tx) ?? { records: 0, observations: 0 };
    if (r.event_type === 'ProvenanceRecorded') n.records++;
    else n.observations++;
    byTx.set(r.tx, n);
  }
  expect(byTx.size).toBeLessThan(runIds.length);
  for (const n of byTx.values()) expect(n.records).toBe(n.observations);

  // After the projector catches up: one provenance row per answer, with its id, and every observation
  // counted by the breaker.
  await eventually(async () => {
    const { rows: stored } = await t.db.pool.query<{ id: string; run_id: string }>(
      'select id, run_id from provenance where run_id = any($1)',
      [runIds],
    );
    expect(stored.map((r) => `${r.run_id} ${r.id}`).sort()).toEqual(
      answers.map((a) => `${a.body.run_id} ${a.body.provenance_id}`).sort(),
    );
  });
  const { rows: versions } = await t.db.pool.query<{ n: number }>(
    `select count(*)::int as n from es_events where stream_name = 'breaker-costsim_v2'`,
  );
  const state = await (await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.read })).json();
  expect(state).toMatchObject({ open: false, version: versions[0]!.n });
});

test('a record or an observation PostgreSQL refuses fails only that part of that request', async () => {
  // A fault only the database knows of: a trigger in this test's database refuses some inserts.
  await t.db.pool.query(`
    create function refuse_marked() returns trigger language plpgsql as $$
    begin
      raise exception 'refused by the test' using errcode = 'P0001';
    end $$;
    create trigger refuse_marked_record before insert on es_events for each row
      when (new.event_type = 'ProvenanceRecorded' and new.data->>'run_id' like 'no-record-%')
      execute function refuse_marked();
    create trigger refuse_marked_observation before insert on es_events for each row
      when (new.event_type = 'DriftObserved' and new.data->'details'->>'run_id' like 'no-observation-%')
      execute function refuse_marked();`);
  try {
    const runIds = Array.from({ length: 60 }, (_, i) =>
      i % 20 === 3
        ? `no-record-${i}-${randomUUID()}`
        : i % 20 === 11
          ? `no-observation-${i}-${randomUUID()}`
          : `good-${i}-${randomUUID()}`,
    );
    const answers = await simulateAll(runIds);
    expect(answers.map((a) => a.status)).toEqual(runIds.map(() => 200));
    const rows = await eventsOf(runIds);
    for (const [i, runId] of runIds.entries()) {
      const { body } = answers[i]!;
      const types = rows.filter((r) => r.run_id === runId).map((r) => r.event_type);
      if (runId.startsWith('no-record-')) {
        expect(body.v2_error).toBe(PROVENANCE_NOT_RECORDED_TEXT);
        expect(body.provenance_id).toBeUndefined();
        expect(types).toEqual(['DriftObserved']);
      } else if (runId.startsWith('no-observation-')) {
        expect(body.v2_error).toBe(DRIFT_NOT_RECORDED_TEXT);
        expect(rows.filter((r) => r.run_id === runId).map((r) => r.id)).toEqual([body.provenance_id]);
        expect(types).toEqual(['ProvenanceRecorded']);
      } else {
        expect(body.v2_error).toBeUndefined();
        expect(types.sort()).toEqual(['DriftObserved', 'ProvenanceRecorded']);
        expect(rows.find((r) => r.run_id === runId && r.id !== null)?.id).toBe(body.provenance_id);
      }
    }
    // The refused parts were in groups with good requests (so the groups were split to isolate them):
    // the good requests' events are in fewer commits than there are good requests.
    const good = rows.filter((r) => r.run_id.startsWith('good-'));
    expect(new Set(good.map((r) => r.tx)).size).toBeLessThan(good.length / 2);
    // The breaker's stream stayed gapless through the splits.
    const { rows: versions } = await t.db.pool.query<{ v: string }>(
      `select stream_version::text as v from es_events where stream_name = 'breaker-costsim_v2'
        order by stream_version`,
    );
    expect(versions.map((r) => Number(r.v))).toEqual(versions.map((_, i) => i + 1));
  } finally {
    await t.db.pool.query(`
      drop trigger refuse_marked_record on es_events;
      drop trigger refuse_marked_observation on es_events;
      drop function refuse_marked();`);
  }
});
