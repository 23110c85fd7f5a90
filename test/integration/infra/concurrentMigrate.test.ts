import { migrateLatest } from '../../../src/infra/postgres/migrate';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Replicas starting together on a database that needs a migration built concurrently (105: create index
 * concurrently) all finish: one applies it while the others wait for the migration lock, and the index is
 * valid. A waiter blocked in pg_advisory_lock would hold a snapshot the index build waits for, while it
 * waits for the builder's lock — a hang PostgreSQL does not see as a deadlock (src/infra/postgres/migrate.ts).
 * Meanwhile appends go on: the index is built without blocking writes.
 */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const MIGRATION = '105_es_events_breaker_feed';

test('three replicas migrating at once through a concurrent index build: one applies it, all finish, writes go on', async () => {
  await db.pool.query(
    `insert into es_events (event_id, stream_name, stream_version, event_type, data)
     select gen_random_uuid(), 'provenance-' || g, 1, 'ProvenanceRecorded', '{}' from generate_series(1, 20000) g`,
  );
  // The database as it was before migration 105.
  await db.pool.query('drop index es_events_breaker_feed');
  await db.pool.query('delete from knex_migrations where name = $1', [MIGRATION]);

  let writing = true;
  let appended = 0;
  const writer = (async () => {
    while (writing) {
      await db.pool.query(
        `insert into es_events (event_id, stream_name, stream_version, event_type, data)
         values (gen_random_uuid(), 'provenance-' || gen_random_uuid(), 1, 'ProvenanceRecorded', '{}')`,
      );
      appended++;
    }
  })();

  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the migrations did not finish within 20 s (hung?)')), 20_000);
  });
  try {
    const applied = await Promise.race([
      Promise.all([migrateLatest(db.url), migrateLatest(db.url), migrateLatest(db.url)]),
      hung,
    ]);
    expect(applied.flat()).toEqual([MIGRATION]); // applied once, by one of them
  } finally {
    clearTimeout(timer);
    writing = false;
    await writer;
  }
  expect(appended).toBeGreaterThan(0);
  const { rows } = await db.pool.query<{ valid: boolean }>(
    `select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
      where c.relname = 'es_events_breaker_feed'`,
  );
  expect(rows).toEqual([{ valid: true }]);
});
