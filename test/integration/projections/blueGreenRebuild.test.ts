import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import type { Projection } from '../../../src/projections/projection';
import { projectionStatuses } from '../../../src/projections/runtime/lag';
import type { Projector } from '../../../src/projections/runtime/projector';
import { startProjector } from '../../support/breakerProjector';
import { RebuildFailedError, rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { countingProjection, countingSnapshot, createCountingTables } from '../../support/countingProjection';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Blue/green rebuilds: the copies are filled while the projector keeps the live tables current and
 * writers keep appending; readers see the live tables until ONE transaction swaps the copies in. A reader
 * polling all the while never sees the total go down (a half-built table would), nothing is applied twice,
 * and the result equals the events. A rebuild that fails leaves the live tables as they were and its
 * copies for the next rebuild to drop.
 */
let db: TestDatabase;
let store: PostgresEventStore;
let projector: Projector;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  await createCountingTables(db.pool);
  await db.pool.query('create index test_counts_events on test_counts (events)');
  projector = startProjector(db, [countingProjection], { batchSize: 50, pollMs: 10 });
});
afterAll(async () => {
  await projector.stop();
  await db.drop();
});

const total = async () =>
  Number(
    (await db.pool.query<{ n: string | null }>('select sum(events) as n from test_counts')).rows[0]!.n ?? 0,
  );

const indexNames = async () =>
  (
    await db.pool.query<{ name: string }>(
      `select indexname as name from pg_indexes where tablename in ('test_counts', 'test_applied') order by 1`,
    )
  ).rows.map((r) => r.name);

test('a rebuild under load: readers never see a partial table, nothing is applied twice, the result equals the events', async () => {
  // A history to replay, projected live first.
  for (let i = 0; i < 40; i++) {
    await store.append(
      `bg-${i % 5}`,
      Array.from({ length: 50 }, () => ({ type: 'Counted', data: {} })),
    );
  }
  await eventually(async () => expect(await total()).toBe(2000), 30_000);
  const indexesBefore = await indexNames();
  const oid = async () =>
    (await db.pool.query<{ oid: string }>(`select 'test_counts'::regclass::oid::text as oid`)).rows[0]!.oid;
  const oidBefore = await oid();

  // Writers keep appending (~1 000 events/s) through the rebuild, up to a cap: on a loaded machine the
  // replay must be able to pass them, or the rebuild chases the writers for the whole timeout.
  let stop = false;
  let written = 2000;
  const WRITE_CAP = 2000 + 15_000;
  const writer = (async () => {
    while (!stop && written < WRITE_CAP) {
      await store.append(
        `bg-live-${written % 3}`,
        Array.from({ length: 5 }, () => ({ type: 'Counted', data: {} })),
      );
      written += 5;
      await new Promise((r) => setTimeout(r, 2)); // a busy service, not a tight loop the replay cannot pass
    }
  })();
  const seen: number[] = [];
  const reader = (async () => {
    while (!stop) seen.push(await total());
  })();

  const progress = await rebuildProjection(db.pool, store, countingProjection, { batchSize: 100 });
  expect(progress.processed).toBeGreaterThanOrEqual(2000);
  stop = true;
  await Promise.all([writer, reader]);

  // Reads during the rebuild: never below what was already projected, never decreasing.
  expect(seen.length).toBeGreaterThan(10);
  const decreases = seen.filter((n, i) => i > 0 && n < seen[i - 1]!);
  expect(decreases).toEqual([]);
  // (a reduce, not Math.min(...seen): a fast reader collects more values than a call's argument limit)
  expect(seen.reduce((min, n) => Math.min(min, n), Infinity)).toBeGreaterThanOrEqual(2000);

  await eventually(async () => expect(await total()).toBe(written), 30_000);
  const { rows: twice } = await db.pool.query('select event_id from test_applied where times <> 1');
  expect(twice).toEqual([]);
  const { rows: applied } = await db.pool.query<{ n: string }>('select count(*) as n from test_applied');
  expect(Number(applied[0]!.n)).toBe(written);

  // The new tables took the old ones' place: new oid, same index names, nothing left behind.
  expect(await oid()).not.toBe(oidBefore);
  expect(await indexNames()).toEqual(indexesBefore);
  const { rows: schemas } = await db.pool.query(
    `select nspname from pg_namespace where nspname like 'costsim_%'`,
  );
  expect(schemas).toEqual([]);
  const statuses = await projectionStatuses(db.pool);
  expect(statuses.map((s) => s.name)).toEqual([countingProjection.name]);
}, 120_000);

test('a rebuild that fails leaves the live tables untouched; the next one drops its leftovers and completes', async () => {
  // The live projection has caught up with every event first (tests do not depend on each other's timing).
  const stored = async () =>
    Number((await db.pool.query<{ n: string }>('select count(*) as n from es_events')).rows[0]!.n);
  await eventually(async () => expect(await total()).toBe(await stored()), 60_000);
  const live = await countingSnapshot(db.pool);
  // A projection that cannot apply one event halfway through the history (and may not park it).
  const breaksHalfway: Projection = {
    ...countingProjection,
    async apply(tx, events) {
      if (events.some((e) => e.streamName === 'bg-2' && e.streamVersion === 200)) {
        throw new Error('the projection cannot apply this');
      }
      await countingProjection.apply(tx, events);
    },
  };
  await expect(rebuildProjection(db.pool, store, breaksHalfway, { batchSize: 100 })).rejects.toBeInstanceOf(
    RebuildFailedError,
  );
  // Live tables as they were; the copies and their checkpoint are left for the next rebuild.
  expect(await countingSnapshot(db.pool)).toEqual(live);
  const { rows: left } = await db.pool.query(
    `select count(*)::int as n from costsim_rebuild_test_counting.test_counts`,
  );
  expect(left[0].n).toBeGreaterThan(0);
  expect((await projectionStatuses(db.pool)).map((s) => s.name)).toContain('test_counting@rebuild');

  await rebuildProjection(db.pool, store, countingProjection, { batchSize: 500 });
  expect(await countingSnapshot(db.pool)).toEqual(live);
  const { rows: schemas } = await db.pool.query(
    `select nspname from pg_namespace where nspname like 'costsim_%'`,
  );
  expect(schemas).toEqual([]);
  expect((await projectionStatuses(db.pool)).map((s) => s.name)).toEqual([countingProjection.name]);
}, 60_000);
