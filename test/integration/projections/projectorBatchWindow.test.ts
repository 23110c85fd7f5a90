import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { Projector } from '../../../src/projections/runtime/projector';
import { countingSnapshot, countingProjection, createCountingTables } from '../../support/countingProjection';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

let db: TestDatabase;
let store: PostgresEventStore;
let projector: Projector;
const batches: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  await createCountingTables(db.pool);
  projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [countingProjection],
    lockId: 7010,
    batchSize: 500,
    pollMs: 5,
    batchWindowMs: 250,
    observer: { onBatch: (_name, applied) => void (applied > 0 && batches.push(applied)) },
  });
  projector.start();
  await eventually(() => expect(projector.isLeader).toBe(true));
});
afterAll(async () => {
  await projector.stop();
  await db.drop();
});

test('a steady trickle of commits is projected in few batches, and every event exactly once', async () => {
  // 60 single-event appends, one every ~10 ms: polled every 5 ms, they would make ~60 batches.
  const started = Date.now();
  for (let i = 1; i <= 60; i++) {
    await store.append('window-trickle', [{ type: 'Counted', data: { i } }], { expected: i - 1 });
    await new Promise((r) => setTimeout(r, 10));
  }
  await eventually(async () =>
    expect(await countingSnapshot(db.pool)).toEqual([
      { stream_name: 'window-trickle', events: 60, last_version: '60' },
    ]),
  );
  const elapsedMs = Date.now() - started;
  // With batches at least 250 ms apart, there can be at most one batch per window plus the first.
  expect(batches.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 250) + 1);
  expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
  const { rows } = await db.pool.query<{ n: string }>(
    'select count(*) as n from test_applied where times <> 1',
  );
  expect(Number(rows[0]!.n)).toBe(0);
});
