import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { START } from '../../../src/infra/eventStore/eventStore';
import { type Projection, parkAny } from '../../../src/projections/projection';
import { listDeadLetters } from '../../../src/projections/runtime/deadLetters';
import { projectionStatuses } from '../../../src/projections/runtime/lag';
import type { Projector } from '../../../src/projections/runtime/projector';
import { startProjector } from '../../support/breakerProjector';
import { countingProjection } from '../../support/countingProjection';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Lanes: each projection reads, applies, fails and parks on its own. A projection of untrusted data
 * parks the events it cannot apply (after its retries) and moves on; a projection that may not park
 * stops just before the failing event — with everything before it applied and the failure on its
 * checkpoint row — while every other projection keeps going.
 */
let db: TestDatabase;
let store: PostgresEventStore;
let projector: Projector;
const failures: string[] = [];

/** Counts `Counted` and `Poison` events into its own tables; a `Poison` event always fails. */
function failingProjection(name: string, parks: boolean): Projection {
  return {
    name,
    handles: ['Counted', 'Poison'],
    tables: [`${name}_rows`],
    mayPark: parks ? parkAny : () => false,
    async apply(tx, events) {
      if (events.some((e) => e.type === 'Poison')) {
        // as PostgreSQL would answer a value it cannot store
        await tx.query(`select '0000-01-01'::timestamptz`);
      }
      await tx.query(
        `insert into ${name}_rows (event_id, stream_name, stream_version) select * from unnest($1::uuid[], $2::text[], $3::int[])`,
        [events.map((e) => e.eventId), events.map((e) => e.streamName), events.map((e) => e.streamVersion)],
      );
    },
  };
}

const parking = failingProjection('test_parking', true);
const stopping = failingProjection('test_stopping', false);

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  for (const p of [parking, stopping]) {
    await db.pool.query(
      `create table ${p.name}_rows (event_id uuid primary key, stream_name text not null, stream_version int not null)`,
    );
  }
  await db.pool.query(`
    create table test_applied (event_id uuid primary key, times int not null);
    create table test_counts (stream_name text primary key, events int not null, last_version bigint not null);
  `);
  projector = startProjector(db, [parking, stopping, countingProjection], {
    pollMs: 10,
    retry: { attempts: 2, backoffMs: 20, maxBackoffMs: 200 },
    observer: { onFailure: (projection) => void failures.push(projection) },
  });
});
afterAll(async () => {
  await projector.stop();
  await db.drop();
});

const rowsOf = async (p: Projection) =>
  (
    await db.pool.query<{ stream_version: number }>(
      `select stream_version from ${p.name}_rows order by stream_version`,
    )
  ).rows.map((r) => r.stream_version);
const statusOf = async (name: string) => (await projectionStatuses(db.pool)).find((s) => s.name === name)!;

test('one poison event among 40: parked by the projection that may park, the other stops just before it, the third never notices', async () => {
  // 40 events in one stream, one append: they arrive as one batch; event 21 is poison.
  const { positions } = await store.append(
    'lane-mixed',
    Array.from({ length: 40 }, (_, i) => ({ type: i === 20 ? 'Poison' : 'Counted', data: { i } })),
  );
  expect(positions).toHaveLength(40);
  const poison = (await store.readStream('lane-mixed', { from: 21, limit: 1 }))[0]!;

  // The projection that parks: 39 rows, the poison parked with PostgreSQL's error, checkpoint at the end.
  await eventually(async () => {
    expect(await rowsOf(parking)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1).filter((v) => v !== 21),
    );
    const s = await statusOf(parking.name);
    expect(s.failure).toBeNull();
    expect(s.lagEvents).toBe(0);
    expect(s.deadLetters).toBe(1);
  });
  const [letter] = await listDeadLetters(db.pool, { projection: parking.name });
  expect(letter).toMatchObject({
    eventId: poison.eventId,
    eventType: 'Poison',
    status: 'parked',
    streamVersion: 21,
  });
  expect(letter!.error).toMatch(/out of range/);

  // The projection that may not park: events 1..20 applied, stuck at 21 with the failure on its row.
  const stuck = await eventually(async () => {
    expect(await rowsOf(stopping)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const s = await statusOf(stopping.name);
    expect(s.failure?.eventId).toBe(poison.eventId);
    expect(s.failure?.count).toBeGreaterThanOrEqual(3);
    return s;
  });
  expect(stuck.failure!.message).toContain(`on Poison lane-mixed@21 (${poison.eventId})`);
  expect(stuck.lagEvents).toBe(20); // the poison and the 19 after it, nothing else
  expect((await listDeadLetters(db.pool, { projection: stopping.name })).length).toBe(0);

  // The counting projection never handles Poison: it saw its 39 events, once each, and is current.
  await eventually(async () => {
    const { rows } = await db.pool.query<{ events: number }>(
      `select events from test_counts where stream_name = 'lane-mixed'`,
    );
    expect(rows[0]?.events).toBe(39);
    expect((await statusOf(countingProjection.name)).lagEvents).toBe(0);
  });
  const { rows: twice } = await db.pool.query('select event_id from test_applied where times <> 1');
  expect(twice).toEqual([]);

  // While `test_stopping` keeps retrying, new events still reach the others at once.
  await store.append('lane-after', [{ type: 'Counted', data: {} }]);
  await eventually(async () => {
    const { rows } = await db.pool.query(`select 1 from test_counts where stream_name = 'lane-after'`);
    expect(rows).toHaveLength(1);
    expect(await rowsOf(parking)).toHaveLength(40);
  });
  expect((await rowsOf(stopping)).length).toBe(20);
  expect(new Set(failures)).toEqual(new Set([parking.name, stopping.name]));
});

test('a batch is bounded by bytes: a read stops once the stored payloads pass the limit, a huge event comes alone', async () => {
  const big = 'x'.repeat(200_000);
  await store.append(
    'bytes-small',
    Array.from({ length: 10 }, (_, i) => ({ type: 'Sized', data: { i } })),
  );
  await store.append('bytes-big', [
    { type: 'Sized', data: { big: `${big}a` } },
    { type: 'Sized', data: { big: `${big}b` } },
  ]);
  const all = await eventually(async () => {
    const page = await store.readAll({ after: START, limit: 10_000, types: ['Sized'] });
    expect(page.events).toHaveLength(12);
    return page;
  });
  // pg_column_size of a compressed 200 000-char string is small: the limit is on stored bytes.
  const { rows } = await db.pool.query<{ size: number }>(
    `select pg_column_size(data) as size from es_events where stream_name = 'bytes-big' order by stream_version`,
  );
  const bigStored = rows[0]!.size;
  const afterSmall = all.events[9]!;
  const cursor = { transactionId: afterSmall.transactionId, globalPosition: afterSmall.globalPosition };
  // Room for one big event only: the first is always returned, the second waits for the next read.
  const one = await store.readAll({ after: cursor, limit: 100, maxBytes: bigStored });
  expect(one.events.map((e) => (e.data.big as string).slice(-1))).toEqual(['a']);
  const next = await store.readAll({ after: one.checkpoint, limit: 100, maxBytes: 1 });
  expect(next.events.map((e) => (e.data.big as string).slice(-1))).toEqual(['b']);
  // Without a limit both come together.
  expect((await store.readAll({ after: cursor, limit: 100 })).events).toHaveLength(2);
});

test('a failure that is not about the events (its table gone) is retried, marked on the checkpoint, never parked', async () => {
  const parkedBefore = (await listDeadLetters(db.pool, { projection: parking.name })).length;
  await db.pool.query(`alter table ${parking.name}_rows rename to ${parking.name}_hidden`);
  try {
    await store.append(
      'lane-env',
      Array.from({ length: 5 }, () => ({ type: 'Counted', data: {} })),
    );
    const stuck = await eventually(async () => {
      const s = await statusOf(parking.name);
      expect(s.failure?.count).toBeGreaterThanOrEqual(4); // past the attempts that would isolate an event
      return s;
    });
    expect(stuck.failure!.message).toMatch(/does not exist/);
    // The counting projection is not held up.
    await eventually(async () => {
      const { rows } = await db.pool.query(`select events from test_counts where stream_name = 'lane-env'`);
      expect(rows).toEqual([{ events: 5 }]);
    });
  } finally {
    await db.pool.query(`alter table ${parking.name}_hidden rename to ${parking.name}_rows`);
  }
  await eventually(async () => {
    const s = await statusOf(parking.name);
    expect(s.failure).toBeNull();
    expect(s.lagEvents).toBe(0);
  }, 30_000);
  expect((await listDeadLetters(db.pool, { projection: parking.name })).length).toBe(parkedBefore);
  const { rows } = await db.pool.query(`select 1 from ${parking.name}_rows where stream_name = 'lane-env'`);
  expect(rows).toHaveLength(5);
});
