import pg from 'pg';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { START } from '../../../src/infra/eventStore/eventStore';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * A typed read's cost follows the rows it returns, not the events of other types after its checkpoint
 * (issue #13): on a log of one type, a read of a type that has no events scans es_events_type_commit_order
 * (nothing), not es_events_commit_order through the whole log with a filter — what the planner did when the
 * types reached it as one array (40 µs a record of a provenance batch, bench provenance).
 *
 * Counted, not timed: index tuples read per index, from PostgreSQL's own statistics (pg_stat_user_indexes),
 * with the reading connection's statistics flushed before they are looked at. The reads are named
 * statements, which PostgreSQL may run with a generic plan (one that does not know the types) after their
 * fifth execution: each bound holds with custom plans and with generic plans forced.
 */
let db: TestDatabase;
let reader: pg.Pool;
let store: PostgresEventStore;
let genericReader: pg.Pool;
let genericStore: PostgresEventStore;

const FLOOD = 20_000;

/**
 * A pool of this file's own (one backend, its own settings), with an 'error' listener as createPool has:
 * an idle connection the server ends (CI once saw 57P01 on one here) is not a failure of what is read,
 * and unheard it would be an unhandled error. A read whose connection dies still rejects and fails its test.
 */
function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => {});
  return pool;
}

beforeAll(async () => {
  db = await createTestDatabase();
  // One connection: the reads and the statistics flush after them run on the same backend.
  reader = testPool({ connectionString: db.url, max: 1 });
  store = new PostgresEventStore(reader);
  genericReader = testPool({
    connectionString: db.url,
    max: 1,
    options: '-c plan_cache_mode=force_generic_plan',
  });
  genericStore = new PostgresEventStore(genericReader);
  await db.pool.query(
    `insert into es_events (event_id, stream_name, stream_version, event_type, data)
     select gen_random_uuid(), 'flood-' || i, 1, 'Flood', jsonb_build_object('i', i)
       from generate_series(1, $1::int) i`,
    [FLOOD],
  );
  await db.pool.query('analyze es_events');
}, 60_000);
afterAll(async () => {
  await reader.end();
  await genericReader.end();
  await db.drop();
});

/** Index tuples read by each es_events index while `read` ran, flushed from the reader's backend. */
async function indexTuplesReadBy(
  read: () => Promise<unknown>,
  on: pg.Pool = reader,
): Promise<Record<string, number>> {
  const counts = async () => {
    const { rows } = await db.pool.query<{ name: string; n: string }>(
      `select indexrelname as name, idx_tup_read::text as n from pg_stat_user_indexes where relname = 'es_events'`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
  };
  await on.query('select pg_stat_force_next_flush()');
  await on.query('select 1');
  const before = await counts();
  await read();
  await on.query('select pg_stat_force_next_flush()');
  await on.query('select 1'); // the flush happens at this statement's end
  const after = await counts();
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
}

test('a read of a type with no events, over a log of another type, reads no flood rows', async () => {
  const read = await indexTuplesReadBy(() =>
    store.readPositions({ after: START, limit: 500, types: ['Flood', 'Absent'], maxBytes: 8 << 20 }),
  );
  // 'Flood' returns its 500 (a range scan of 500 entries on either index) and the examined step reads
  // one; 'Absent' must add nothing like the 20 000 entries of a filtered walk of the commit order.
  const total = Object.values(read).reduce((a, b) => a + b, 0);
  expect(total).toBeLessThan(2_000);
});

test('a read of rare types only reads their rows, wherever they are in the log', async () => {
  await store.append('rare-1', [{ type: 'Rare', data: { n: 1 } }]);
  let page: Awaited<ReturnType<PostgresEventStore['readPositions']>> | undefined;
  const read = await indexTuplesReadBy(async () => {
    page = await store.readPositions({
      after: START,
      limit: 500,
      types: ['Rare', 'Absent'],
      maxBytes: 8 << 20,
    });
  });
  expect(page!.events.map((e) => e.type)).toEqual(['Rare']);
  const total = Object.values(read).reduce((a, b) => a + b, 0);
  expect(total).toBeLessThan(100);
});

test('a read of no types returns nothing and moves to the last examined event', async () => {
  const head = await store.readAll({ after: START, limit: 1, types: ['Rare'] });
  const page = await store.readPositions({ after: START, limit: 500, types: [], maxBytes: 8 << 20 });
  expect(page.events).toEqual([]);
  expect(page.full).toBe(false);
  // Past the one Rare event: the last event below the horizon, as a reader of any type sees it.
  expect(page.checkpoint.globalPosition).toBeGreaterThanOrEqual(head.checkpoint.globalPosition);
  const { rows } = await db.pool.query<{ pos: string }>(
    'select max(global_position)::text as pos from es_events',
  );
  expect(page.checkpoint.globalPosition).toBe(Number(rows[0]!.pos));
});

describe('with generic plans forced (what a named statement may keep after five executions)', () => {
  test('the plan is generic: the reader runs with plan_cache_mode force_generic_plan', async () => {
    const { rows } = await genericReader.query<{ mode: string }>(
      "select current_setting('plan_cache_mode') as mode",
    );
    expect(rows[0]!.mode).toBe('force_generic_plan');
  });

  test('a read of a type with no events over a flood of another reads no flood rows', async () => {
    const read = await indexTuplesReadBy(
      () =>
        genericStore.readPositions({
          after: START,
          limit: 500,
          types: ['Flood', 'Absent'],
          maxBytes: 8 << 20,
        }),
      genericReader,
    );
    expect(Object.values(read).reduce((a, b) => a + b, 0)).toBeLessThan(2_000);
  });

  test('a read of rare types only reads their rows, and finds them', async () => {
    await store.append('rare-generic', [{ type: 'RareGeneric', data: { n: 1 } }]);
    let page: Awaited<ReturnType<PostgresEventStore['readAll']>> | undefined;
    const read = await indexTuplesReadBy(async () => {
      page = await genericStore.readAll({ after: START, limit: 500, types: ['RareGeneric', 'Absent'] });
    }, genericReader);
    expect(page!.events.map((e) => e.type)).toEqual(['RareGeneric']);
    expect(Object.values(read).reduce((a, b) => a + b, 0)).toBeLessThan(100);
  });
});

test('a type is matched as written, quotes and backslashes included (it is a literal of the statement)', async () => {
  const odd = `O'Brien\\' or 1=1 --`;
  await store.append('odd-type', [{ type: odd, data: { n: 1 } }]);
  for (const on of [store, genericStore]) {
    const page = await on.readAll({ after: START, limit: 500, types: [odd, 'Absent'] });
    expect(page.events.map((e) => [e.type, e.streamName])).toEqual([[odd, 'odd-type']]);
  }
});

test('types chosen by a caller cannot grow the statements a connection holds: past 256 texts, reads go unnamed', async () => {
  const pool = testPool({ connectionString: db.url, max: 1 });
  try {
    const many = new PostgresEventStore(pool);
    await store.append('counted', [{ type: 'Counted', data: { n: 1 } }]);
    for (let i = 0; i < 300; i++) {
      const page = await many.readAll({ after: START, limit: 10, types: ['Counted', `Absent${i}`] });
      expect(page.events.map((e) => e.type)).toEqual(['Counted']);
    }
    const { rows } = await pool.query<{ n: number }>(
      "select count(*)::int as n from pg_prepared_statements where name like 'es_read_%'",
    );
    // This file's reads named some texts already; whatever they were, no more than 256 in all.
    expect(rows[0]!.n).toBeGreaterThan(0);
    expect(rows[0]!.n).toBeLessThanOrEqual(256);
  } finally {
    await pool.end();
  }
});
