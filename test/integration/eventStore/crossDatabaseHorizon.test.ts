import pg from 'pg';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { START } from '../../../src/infra/eventStore/eventStore';
import { eventually } from '../../support/eventually';
import { adminUrl, createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Why tests that measure propagation get a PostgreSQL of their own (test/support/privatePostgres.ts):
 * the snapshot xmin an event-store reader waits on is cluster-wide, so a transaction open in ANOTHER
 * database of the same server holds back this database's readers until it ends. On a shared test server
 * that is another test file's long transaction: the old breakerMultiProcess flake.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

test("a transaction open in another database of the server holds back this database's readers", async () => {
  const store = new PostgresEventStore(db.pool);
  const other = new pg.Client({ connectionString: adminUrl() }); // the server's `postgres` database
  await other.connect();
  try {
    await other.query('begin');
    await other.query('select pg_current_xact_id()'); // takes a transaction id, as any write does
    await store.append('horizon-1', [{ type: 'Probe', data: {} }]);
    const held = await store.readAll({ after: START, limit: 10 });
    expect(held.events.map((e) => e.streamName)).not.toContain('horizon-1');
    await other.query('commit');
    // (eventually: other test files' transactions on this shared server hold it back too, briefly)
    await eventually(async () => {
      const released = await store.readAll({ after: START, limit: 10 });
      expect(released.events.map((e) => e.streamName)).toContain('horizon-1');
    });
  } finally {
    await other.end();
  }
});
