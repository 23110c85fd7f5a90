import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * es_append (061) has no `SET enable_seqscan = off`: each statement must find its index through the
 * planner alone — with a plan cached while es_events was empty and never analysed, and after the log has
 * grown and been analysed (the benchmark's 1M-event condition, smaller here). auto_explain shows the plan
 * of every statement inside the function, as a notice to this connection.
 */
let db: TestDatabase;
let client: pg.Client;
const plans: string[] = [];
/** The store's own statements (the plain INSERT of the common append), on one long-lived connection. */
let storePool: pg.Pool;
let store: PostgresEventStore;
const storePlans: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  client.on('notice', (n) => {
    if (n.message?.includes('Query Text')) plans.push(n.message);
  });
  await client.query(`load 'auto_explain'`);
  await client.query(`set auto_explain.log_min_duration = 0`);
  await client.query(`set auto_explain.log_nested_statements = on`);
  await client.query(`set auto_explain.log_level = 'notice'`);
  storePool = new pg.Pool({
    connectionString: db.url,
    max: 1,
    options:
      '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 ' +
      '-c auto_explain.log_level=notice',
  });
  storePool.on('connect', (c) =>
    c.on('notice', (n) => {
      if (n.message?.includes('Query Text')) storePlans.push(n.message);
    }),
  );
  store = new PostgresEventStore(storePool);
});
afterAll(async () => {
  await storePool.end();
  await client.end();
  await db.drop();
});

const append = (stream: string, kind: string, expected: number | null, ids: string[]) =>
  client.query(`select * from es_append($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], null)`, [
    stream,
    kind,
    expected,
    ids,
    ids.map(() => 'Planned'),
    ids.map(() => '{}'),
  ]);

/** Appends (enough calls that PL/pgSQL switches to its generic plans), a re-append and a version error. */
async function exercise(stream: string): Promise<string[]> {
  plans.length = 0;
  const current = await client.query<{ v: string }>(
    'select coalesce(max(stream_version), 0) as v from es_events where stream_name = $1',
    [stream],
  );
  let version = Number(current.rows[0]!.v);
  for (let i = 0; i < 12; i++) {
    const ids = Array.from({ length: 1 + (i % 3) }, () => randomUUID());
    await append(stream, i % 2 ? 'any' : 'exact', i % 2 ? null : version, ids);
    version += ids.length;
    if (i === 11) {
      const again = await append(stream, 'no_stream', null, ids);
      expect(again.rows.every((r: { already_stored: boolean }) => r.already_stored)).toBe(true);
    }
  }
  await expect(append(stream, 'exact', 1, [randomUUID()])).rejects.toMatchObject({ code: 'CS001' });
  return [...plans];
}

function expectIndexPlans(seen: string[]) {
  const inner = seen.filter((p) => p.includes('es_events e'));
  // The version look-up, the INSERT, the idempotent and the error path's look-ups all appeared.
  expect(inner.some((p) => p.includes('Index Only Scan Backward using es_events_stream_version_key'))).toBe(
    true,
  );
  expect(inner.some((p) => p.includes('Conflict Arbiter Indexes: es_events_event_id_key'))).toBe(true);
  expect(inner.some((p) => p.includes('join es_events e on e.event_id = u.id'))).toBe(true);
  for (const plan of inner) expect(plan).not.toMatch(/Seq Scan on es_events/);
}

test('on an empty, never-analysed es_events every statement of es_append uses an index', async () => {
  expectIndexPlans(await exercise('empty'));
});

/**
 * The store's append (more calls than the 5 custom plans before a generic one is kept), by every kind of
 * expectation, one event and several, a re-append (es_append's path) and a version error.
 */
async function exerciseStore(stream: string): Promise<string[]> {
  storePlans.length = 0;
  let version = await store.streamVersion(stream);
  for (let i = 0; i < 16; i++) {
    const events = Array.from({ length: 1 + (i % 2) * 2 }, () => ({
      id: randomUUID(),
      type: 'Planned',
      data: { i },
    }));
    const kinds = [version === 0 ? 'no_stream' : version, 'any', 'stream_exists'] as const;
    version = (await store.append(stream, events, { expected: kinds[i % 3]! })).nextExpectedVersion;
    if (i === 15) expect((await store.append(stream, events)).alreadyStored).toBe(true);
  }
  await expect(store.append(stream, [{ type: 'Planned', data: {} }], { expected: 1 })).rejects.toThrow(
    /expected/i,
  );
  return [...storePlans];
}

function expectStoreIndexPlans(seen: string[]) {
  const inserts = seen.filter((p) => p.includes('insert into es_events'));
  // Both statements (one event, several) ran, and their look-up is the backward step on the index.
  expect(inserts.some((p) => p.includes('unnest('))).toBe(true);
  expect(inserts.some((p) => !p.includes('unnest('))).toBe(true);
  for (const plan of inserts) {
    expect(plan).toContain('Index Only Scan Backward using es_events_stream_version_key');
  }
  for (const plan of seen) expect(plan).not.toMatch(/Seq Scan on es_events/);
}

test('on an empty, never-analysed es_events the store append uses an index', async () => {
  expectStoreIndexPlans(await exerciseStore('store-empty'));
});

test('after 200 000 events and ANALYZE, on the same connection (plans cached before), still indexes', async () => {
  await client.query(
    `insert into es_events (event_id, stream_name, stream_version, event_type, data)
     select gen_random_uuid(), 'fill-' || (g % 100), g / 100 + 1, 'Filled', '{}' from generate_series(0, 199999) g`,
  );
  await client.query('analyze es_events');
  expectIndexPlans(await exercise('fill-7'));
  expectIndexPlans(await exercise('filled-new'));
  // The store's connection kept its plans from the empty table: they are still index plans.
  expectStoreIndexPlans(await exerciseStore('fill-8'));
  expectStoreIndexPlans(await exerciseStore('store-filled-new'));
}, 120_000);
