import type pg from 'pg';
import type { ReadAllOptions, ReadAllResult } from '../../../src/infra/eventStore/eventStore';
import { EVENTS_CHANNEL, PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { LockIds } from '../../../src/infra/postgres/lockIds';
import { CoalescingNotifier, PgNotificationListener } from '../../../src/infra/postgres/notifications';
import { type Projection, neverPark } from '../../../src/projections/projection';
import { Projector } from '../../../src/projections/runtime/projector';
import { countingProjection, countingSnapshot, createCountingTables } from '../../support/countingProjection';
import { eventually } from '../../support/eventually';
import { type TestDatabase, createTestDatabase } from '../../support/testDatabase';

/**
 * Wake-ups name the event types committed (the NOTIFY payload), and a lane reads only when woken for one
 * of its own types: a flood of other types' commits costs it nothing — before, every NOTIFY woke every
 * lane into a read, and a lane whose read only skipped other types read again at once, a read per round
 * trip for as long as the flood lasted. Polls are set far beyond the test, so every read here was a wake-up.
 */
let db: TestDatabase;
let store: CountingStore;
let listener: PgNotificationListener;
let projector: Projector;
const payloads: string[] = [];

/** Counts readAll calls by the first type asked for (one per lane here). */
class CountingStore extends PostgresEventStore {
  readonly reads = new Map<string, number>();
  override readAll(options: ReadAllOptions): Promise<ReadAllResult> {
    const key = options.types?.[0] ?? '*';
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    return super.readAll(options);
  }
}

const otherProjection: Projection = {
  name: 'test_other',
  handles: ['Other'],
  tables: ['test_other_rows'],
  mayPark: neverPark,
  async apply(tx: pg.ClientBase, events) {
    await tx.query('insert into test_other_rows (event_id) select * from unnest($1::uuid[])', [
      events.map((e) => e.eventId),
    ]);
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  await createCountingTables(db.pool);
  await db.pool.query('create table test_other_rows (event_id uuid primary key)');
  listener = new PgNotificationListener(db.url);
  const wakeups = listener.on(EVENTS_CHANNEL);
  wakeups.subscribe((p) => void payloads.push(p));
  // Started first: its "reconnected" wake-up for everyone goes out before the projector listens.
  await listener.start([EVENTS_CHANNEL]);
  store = new CountingStore(db.pool, { notifier: new CoalescingNotifier(db.pool), wakeups });
  projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [countingProjection, otherProjection],
    lockId: LockIds.projector,
    pollMs: 600_000,
    retryMs: 50,
    wakeups,
  });
  projector.start();
  await eventually(() => {
    expect(store.reads.get('Counted')).toBeGreaterThanOrEqual(1);
    expect(store.reads.get('Other')).toBeGreaterThanOrEqual(1);
  });
});
afterAll(async () => {
  await projector.stop();
  await listener.stop();
  await db.drop();
});

test("a lane is not woken by commits of other types, and is woken by its own type's", async () => {
  const otherReadsBefore = store.reads.get('Other')!;
  payloads.length = 0; // the listener's own "reconnected" at start
  for (let i = 1; i <= 30; i++) {
    await store.append('wake-counted', [{ type: 'Counted', data: { i } }], { expected: i - 1 });
  }
  await eventually(async () =>
    expect(await countingSnapshot(db.pool)).toEqual([
      { stream_name: 'wake-counted', events: 30, last_version: '30' },
    ]),
  );
  // Every NOTIFY of the flood named the type committed, and the other lane never read.
  expect(payloads.length).toBeGreaterThan(0);
  expect(new Set(payloads)).toEqual(new Set(['Counted']));
  expect(store.reads.get('Other')).toBe(otherReadsBefore);

  // Its own type wakes it (its poll would come only in 200 minutes).
  await store.append('wake-other', [{ type: 'Other', data: {} }]);
  await eventually(async () => {
    const { rows } = await db.pool.query('select 1 from test_other_rows');
    expect(rows).toHaveLength(1);
  });
  expect(payloads).toContain('Other');
});
