import { type ServeReplicas, startServeReplicas } from '../../support/serveReplicas';
import { eventually } from '../../support/eventually';
import { testKeys } from '../../support/serviceHarness';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Exactly one replica runs the canary (docs/domain.md §6, §7): real `serve` processes on one database. Asked at
 * the same moment, one answers a pass/fail report and the other `skipped` with the original's leader
 * reason; a schedule fires once per slot across three replicas.
 */
jest.setTimeout(90_000);

let db: TestDatabase;
let replicas: ServeReplicas | null = null;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await replicas?.stop();
  replicas = null;
});
afterAll(async () => db.drop());

const canaryLockHolders = async () =>
  Number(
    // pg_locks is cluster-wide: only this test's database counts (other services on the server lead theirs)
    (
      await db.pool.query(
        `select count(*)::int as n from pg_locks
          where locktype = 'advisory' and granted and classid = 0 and objid = 7001
            and database = (select oid from pg_database where datname = current_database())`,
      )
    ).rows[0].n,
  );

test('two serve processes asked to run at the same moment: one pass/fail report, the other skipped (leader reason)', async () => {
  replicas = await startServeReplicas(db.url, 'canary-two', 2, { COSTSIM_CANARY_SCHEDULE: '0 3 * * *' });
  await eventually(async () => expect(await canaryLockHolders()).toBe(1), 15_000);
  const answers = await Promise.all(
    replicas.urls.map(async (url) => {
      const res = await fetch(`${url}/costsim/canary/run`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${testKeys.admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({}),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { run_id: string; status: string; failure_reasons: string[] };
    }),
  );
  const statuses = answers.map((a) => a.status).sort();
  expect(statuses.filter((s) => s === 'pass' || s === 'fail')).toHaveLength(1);
  const skipped = answers.filter((a) => a.status === 'skipped');
  expect(skipped).toHaveLength(1);
  expect(skipped[0]!.failure_reasons).toEqual(['Skipped: another instance is the leader']);
  // one run in the log: the leader's
  const { rows } = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from es_events where event_type = 'CanaryRunCompleted'`,
  );
  expect(rows[0]!.n).toBe(1);
});

test('a schedule (every 3 s here) fires once per slot across three replicas', async () => {
  const before = await db.pool.query(
    `select count(*)::int as n from es_events where event_type = 'CanaryRunStarted'`,
  );
  replicas = await startServeReplicas(db.url, 'canary-three', 3, {
    COSTSIM_CANARY_SCHEDULE: '*/3 * * * * *',
  });
  const started = async () =>
    (
      await db.pool.query<{ run_id: string; slot: string | null; instance: string; trigger: string }>(
        `select data->>'run_id' as run_id, data->>'scheduled_for' as slot, data->>'instance' as instance,
                data->>'trigger' as trigger
           from es_events where event_type = 'CanaryRunStarted' order by global_position offset $1`,
        [before.rows[0].n],
      )
    ).rows;
  await eventually(async () => expect((await started()).length).toBeGreaterThanOrEqual(3), 30_000);
  await replicas.stop();
  const runs = await started();
  expect(runs.every((r) => r.trigger === 'schedule' && r.slot !== null)).toBe(true);
  // one run per slot, whichever replica led
  expect(new Set(runs.map((r) => r.slot)).size).toBe(runs.length);
  expect(new Set(runs.map((r) => r.run_id)).size).toBe(runs.length);
  // slots are 3 s apart
  const slots = runs.map((r) => Date.parse(r.slot!)).sort((a, b) => a - b);
  for (let i = 1; i < slots.length; i++) expect((slots[i]! - slots[i - 1]!) % 3000).toBe(0);
  // every started run completed
  const completed = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from es_events e where event_type = 'CanaryRunCompleted'
       and data->'report'->>'run_id' = any($1)`,
    [runs.map((r) => r.run_id)],
  );
  expect(completed.rows[0]!.n).toBe(runs.length);
});
