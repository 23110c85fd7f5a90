import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import type { Projection } from '../../../src/projections/projection';
import { projectionStatuses } from '../../../src/projections/runtime/lag';
import { Projector } from '../../../src/projections/runtime/projector';
import { countingProjection, countingSnapshot, createCountingTables } from '../../support/countingProjection';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

let db: TestDatabase;
let store: PostgresEventStore;
let projector: Projector;
let poisoned = true;
const failures: string[] = [];

/** The counting projection, except that it cannot apply a `Poison` event while `poisoned` is set. */
const poisonable: Projection = {
  ...countingProjection,
  name: 'test_poisonable',
  handles: ['Counted', 'Poison'],
  async apply(tx, events) {
    for (const e of events) {
      if (e.type === 'Poison' && poisoned) throw new Error(`cannot apply poison ${e.eventId}`);
    }
    await countingProjection.apply(tx, events);
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  await createCountingTables(db.pool);
  projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [poisonable],
    lockId: 7010,
    pollMs: 10,
    retryMs: 50,
    observer: { onFailure: (projection) => void failures.push(projection) },
  });
  projector.start();
});
afterAll(async () => {
  await projector.stop();
  await db.drop();
});

const status = async () => (await projectionStatuses(db.pool)).find((s) => s.name === 'test_poisonable')!;

test('an event a projection cannot apply is never skipped: the projection stops there, says where and why, and resumes once it can', async () => {
  await store.append('fail-a', [{ type: 'Counted', data: {} }], { expected: 0 });
  await eventually(async () =>
    expect(await countingSnapshot(db.pool)).toEqual([
      { stream_name: 'fail-a', events: 1, last_version: '1' },
    ]),
  );
  const [poison] = (await store.append('fail-p', [{ type: 'Poison', data: {} }], { expected: 0 })).positions;
  expect(poison).toBeDefined();
  await store.append('fail-a', [{ type: 'Counted', data: {} }], { expected: 1 });
  const [poisonEvent] = await store.readStream('fail-p');

  // Stuck: the failure is recorded with the poison event, retried (count grows), and nothing after it is
  // applied (the event behind it in fail-a waits too: order is kept).
  const stuck = await eventually(async () => {
    const s = await status();
    expect(s.failure?.eventId).toBe(poisonEvent!.eventId);
    expect(s.failure?.count).toBeGreaterThanOrEqual(2);
    return s;
  });
  expect(stuck.failure!.message).toContain(`cannot apply poison ${poisonEvent!.eventId}`);
  expect(stuck.failure!.message).toContain('Poison fail-p@1');
  expect(stuck.lagEvents).toBe(2);
  expect(await countingSnapshot(db.pool)).toEqual([{ stream_name: 'fail-a', events: 1, last_version: '1' }]);
  expect(failures.length).toBeGreaterThanOrEqual(2);
  expect(new Set(failures)).toEqual(new Set(['test_poisonable']));

  // The fix is deployed: the projection catches up, applies each event once, and the failure is cleared.
  poisoned = false;
  await eventually(async () => {
    expect(await countingSnapshot(db.pool)).toEqual([
      { stream_name: 'fail-a', events: 2, last_version: '2' },
      { stream_name: 'fail-p', events: 1, last_version: '1' },
    ]);
    const s = await status();
    expect(s.failure).toBeNull();
    expect(s.lagEvents).toBe(0);
  });
  const { rows } = await db.pool.query<{ n: string }>(
    'select count(*) as n from test_applied where times <> 1',
  );
  expect(Number(rows[0]!.n)).toBe(0);
});
