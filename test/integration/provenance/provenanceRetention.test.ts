import { createHash } from 'node:crypto';
import { ProvenanceRetention } from '../../../src/commands/provenance/provenanceRetention';
import {
  type NewProvenanceRecord,
  ProvenanceWriter,
} from '../../../src/commands/provenance/provenanceWriter';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { provenanceProjection } from '../../../src/projections/provenance/provenanceProjection';
import { Projector } from '../../../src/projections/runtime/projector';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

let db: TestDatabase;
let store: PostgresEventStore;
let projector: Projector;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [provenanceProjection],
    lockId: 7010,
    pollMs: 20,
  });
  projector.start();
});
afterAll(async () => {
  await projector.stop();
  await db.drop();
});

const DAY = 86_400_000;
const record = (run: string, ageDays: number): NewProvenanceRecord => ({
  run_id: run,
  tenant_id: null,
  variant_slug: 'v2',
  source: 'backfill',
  model_version: null,
  adapter_version: null,
  commit_sha: null,
  input_hash: createHash('sha256').update(run).digest('hex'),
  output_hash: null,
  v1_cost: 1,
  v2_cost: 2,
  drift_score: null,
  verdict: null,
  payload: {},
  runtime_ms: null,
  created_at: new Date(Date.now() - ageDays * DAY).toISOString(),
});
const runs = async () =>
  (await db.pool.query<{ run_id: string }>('select run_id from provenance order by run_id')).rows.map(
    (r) => r.run_id,
  );

test('records older than the retention leave the read model, stay in the log, and do not come back on a rebuild', async () => {
  const writer = new ProvenanceWriter(store);
  await writer.write([
    record('old-120d', 120),
    record('old-91d', 91),
    record('recent-89d', 89),
    record('today', 0),
  ]);
  await eventually(async () => expect(await runs()).toHaveLength(4));

  const retention = new ProvenanceRetention({
    connectionString: db.url,
    lockId: 7003,
    pool: db.pool,
    store,
    retentionDays: 90,
  });
  expect(await retention.runOnce()).toBe(2);
  expect(await retention.runOnce()).toBe(0); // nothing due: no second event
  const { rows: retentionEvents } = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from es_events where event_type = 'ProvenanceRetentionApplied'`,
  );
  expect(retentionEvents[0]!.n).toBe(1);
  expect(await runs()).toEqual(['recent-89d', 'today']);
  const { rows } = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from es_events where event_type = 'ProvenanceRecorded'`,
  );
  expect(rows[0]!.n).toBe(4); // the log keeps them: it is the archive

  // The projector applies the retention event again (idempotent), and a rebuild replays it in order.
  await eventually(async () => {
    const { rows: lag } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from es_events e, projection_checkpoints c
        where c.name = 'provenance' and (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`,
    );
    expect(lag[0]!.n).toBe(0);
  });
  expect(await runs()).toEqual(['recent-89d', 'today']);
  await rebuildProjection(db.pool, store, provenanceProjection);
  expect(await runs()).toEqual(['recent-89d', 'today']);
});
