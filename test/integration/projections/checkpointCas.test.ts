import pg from 'pg';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { START } from '../../../src/infra/eventStore/eventStore';
import {
  LeadershipLostError,
  StaleCheckpointError,
  ensureCheckpoints,
  loadCheckpoint,
} from '../../../src/projections/runtime/checkpoints';
import { applyBatch } from '../../../src/projections/runtime/projectionApplier';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';
import { eventually } from '../../support/eventually';
import { countingProjection, createCountingTables } from '../../support/countingProjection';

let db: TestDatabase;
let store: PostgresEventStore;
const target = { projection: countingProjection, checkpointName: countingProjection.name };

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  await createCountingTables(db.pool);
  await ensureCheckpoints(db.pool, [countingProjection]);
  await store.append(
    'cas-1',
    Array.from({ length: 5 }, () => ({ type: 'Counted', data: {} })),
  );
});
afterAll(async () => db.drop());

test('two projectors applying the same batch concurrently: the compare-and-set rejects the stale one', async () => {
  const expected = await loadCheckpoint(db.pool, countingProjection.name);
  // Readers wait for older transactions anywhere on the server (other test files too): poll.
  const { events, checkpoint } = await eventually(async () => {
    const page = await store.readAll({ after: START, limit: 100 });
    expect(page.events).toHaveLength(5);
    return page;
  });

  // Both instances start from the same checkpoint, as two projectors that both believe they lead would.
  const results = await Promise.allSettled([
    applyBatch(db.pool, target, expected, events, checkpoint),
    applyBatch(db.pool, target, expected, events, checkpoint),
  ]);
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  expect(rejected.reason).toBeInstanceOf(StaleCheckpointError);

  const { rows } = await db.pool.query<{ times: number }>('select times from test_applied');
  expect(rows).toHaveLength(5);
  expect(rows.every((r) => r.times === 1)).toBe(true);

  // Retrying with the stale checkpoint keeps failing; nothing more is applied.
  await expect(applyBatch(db.pool, target, expected, events, checkpoint)).rejects.toBeInstanceOf(
    StaleCheckpointError,
  );
  expect(await loadCheckpoint(db.pool, countingProjection.name)).toEqual(checkpoint);
});

test('a batch fenced on a lock its pid does not hold rolls back', async () => {
  await store.append('cas-2', [{ type: 'Counted', data: {} }]);
  const expected = await loadCheckpoint(db.pool, countingProjection.name);
  const { events, checkpoint } = await eventually(async () => {
    const page = await store.readAll({ after: expected, limit: 100 });
    expect(page.events).toHaveLength(1);
    return page;
  });
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  const { rows } = await holder.query<{ pid: number }>('select pg_backend_pid() as pid');
  // The pid exists but has not taken lock 7010: the applier must refuse to commit.
  await expect(
    applyBatch(db.pool, target, expected, events, checkpoint, {
      fence: { pid: rows[0]!.pid, lockId: 7010 },
    }),
  ).rejects.toBeInstanceOf(LeadershipLostError);
  await holder.query('select pg_advisory_lock(7010)');
  await applyBatch(db.pool, target, expected, events, checkpoint, {
    fence: { pid: rows[0]!.pid, lockId: 7010 },
  });
  await holder.end();
  const { rows: applied } = await db.pool.query('select * from test_applied');
  expect(applied).toHaveLength(6);
});
