import { PostgresEventStore } from '../../src/infra/eventStore/postgresEventStore';
import { createTestDatabase, type TestDatabase } from './testDatabase';

/** A fresh database for one test file and the event store on its pool (the file drops the database). */
export async function eventStoreDatabase(): Promise<{ db: TestDatabase; store: PostgresEventStore }> {
  const db = await createTestDatabase();
  return { db, store: new PostgresEventStore(db.pool) };
}
