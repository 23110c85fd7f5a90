import pg from 'pg';
import { defaultBreakerPolicy, initialBreakerState } from '../../../src/domain/breaker';
import { BreakerStateCache } from '../../../src/projections/breaker/breakerStateCache';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

let db: TestDatabase;
let cache: BreakerStateCache;
const BREAKERS = 500;

const state = (open: boolean, version: number) => ({
  ...initialBreakerState(),
  open,
  disabled_by: open ? 'ops' : null,
  disabled_reason: open ? 'test' : null,
  version,
});

/** Writes a cb_state row the way the projection does (changed_tx = the writing transaction). */
const upsert = (db: pg.ClientBase | pg.Pool, tenant: string, open: boolean, version: number) =>
  db.query(
    `insert into cb_state (name, tenant_id, open, consecutive_failures, version, state)
     values ('costsim_v2', $1, $2, 0, $3, $4::jsonb)
     on conflict (name, tenant_key) do update
       set open = excluded.open, version = excluded.version, state = excluded.state,
           changed_tx = pg_current_xact_id()`,
    [tenant, open, version, JSON.stringify(state(open, version))],
  );

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    `insert into cb_state (name, tenant_id, open, consecutive_failures, version, state)
     select 'costsim_v2', 't' || g, false, 0, 1, $1::jsonb from generate_series(1, ${BREAKERS}) g`,
    [JSON.stringify(state(false, 1))],
  );
  cache = new BreakerStateCache(db.pool, defaultBreakerPolicy, { pollMs: 60_000 });
  await cache.start();
});
afterAll(async () => {
  cache.stop();
  await db.drop();
});

test('the first load reads every breaker; later refreshes read only the rows changed since', async () => {
  expect(cache.lastRefreshRows).toBe(BREAKERS);
  expect(cache.all()).toHaveLength(BREAKERS);
  let version = 1;
  // A long transaction elsewhere on the server holds the horizon back (rows are then read again, which is
  // harmless); retry until a refresh runs without one.
  await eventually(async () => {
    await upsert(db.pool, 't7', true, ++version);
    await cache.reload();
    expect(cache.isV2Disabled('t7')).toBe(true);
    expect(cache.lastRefreshRows).toBeLessThan(10);
  });
  expect(cache.isV2Disabled('t8')).toBe(false);
  expect(cache.all()).toHaveLength(BREAKERS);
});

test('a row written by a transaction that commits after a later one is not missed', async () => {
  const late = new pg.Client({ connectionString: db.url });
  await late.connect();
  try {
    await late.query('begin');
    await late.query('select pg_current_xact_id()'); // takes its transaction id now: the lower one
    await upsert(db.pool, 't20', true, 2); // a later transaction, committed first
    await cache.reload();
    expect(cache.isV2Disabled('t20')).toBe(true);

    await upsert(late, 't10', true, 2);
    await cache.reload();
    expect(cache.isV2Disabled('t10')).toBe(false); // not committed yet
    await late.query('commit');
    await cache.reload();
    expect(cache.isV2Disabled('t10')).toBe(true);
  } finally {
    await late.end();
  }
});

test('a table swapped in by a rebuild is read whole, in one step, even rows written before the last refresh', async () => {
  // The rebuild's copy, written (as a rebuild writes it) long before the swap: its changed_tx are old.
  await db.pool.query(`
    create schema swap_test;
    create table swap_test.cb_state (like public.cb_state including all);
    insert into swap_test.cb_state (name, tenant_id, open, consecutive_failures, version, state, changed_tx)
      select name, tenant_id, open, consecutive_failures, version, state, changed_tx from public.cb_state;`);
  // What the rebuild corrected: t9 is open in the events (the old table said closed), t10 is gone.
  await db.pool.query(`update swap_test.cb_state set open = true, state = $1::jsonb where tenant_id = 't9'`, [
    JSON.stringify(state(true, 2)),
  ]);
  await db.pool.query(`delete from swap_test.cb_state where tenant_id = 't10'`);
  await db.pool.query('update swap_test.cb_state set changed_tx = $1::xid8', ['1']);
  await cache.reload(); // the horizon moves past every row of the copy
  expect(cache.isV2Disabled('t9')).toBe(false);
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    await client.query('create schema swap_retired');
    await client.query('alter table public.cb_state set schema swap_retired');
    await client.query('alter table swap_test.cb_state set schema public');
    await client.query('commit');
  } finally {
    client.release();
  }
  await cache.reload();
  expect(cache.isV2Disabled('t9')).toBe(true);
  expect(cache.snapshot('costsim_v2', 't10')).toBeUndefined();
  expect(cache.all()).toHaveLength(BREAKERS - 1);
  expect(cache.lastRefreshRows).toBe(BREAKERS - 1);
});
