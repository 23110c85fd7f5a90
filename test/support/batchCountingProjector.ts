import { PostgresEventStore } from '../../src/infra/eventStore/postgresEventStore';
import { Projector, type ProjectorOptions } from '../../src/projections/runtime/projector';
import { countingProjection, createCountingTables } from './countingProjection';
import { eventually } from './eventually';
import { createTestDatabase, type TestDatabase } from './testDatabase';

export interface BatchCountingProjector {
  db: TestDatabase;
  store: PostgresEventStore;
  /** The size of every batch committed with events, in order. */
  batches: number[];
}

/**
 * For a test file about how the projector batches: a fresh database with the counting tables, and a
 * leading projector of `countingProjection` (batches of up to 500) with `options`, set up before the
 * file's tests and stopped after them. The fields are filled in by the time a test runs.
 */
export function withBatchCountingProjector(
  options: Pick<ProjectorOptions, 'pollMs' | 'batchWindowMs' | 'batchWindowMaxMs'>,
): BatchCountingProjector {
  const context = { batches: [] as number[] } as BatchCountingProjector;
  let projector: Projector;
  beforeAll(async () => {
    context.db = await createTestDatabase();
    context.store = new PostgresEventStore(context.db.pool);
    await createCountingTables(context.db.pool);
    projector = new Projector({
      pool: context.db.pool,
      store: context.store,
      connectionString: context.db.url,
      projections: [countingProjection],
      lockId: 7010,
      batchSize: 500,
      ...options,
      observer: { onBatch: (_name, applied) => void (applied > 0 && context.batches.push(applied)) },
    });
    projector.start();
    await eventually(() => expect(projector.isLeader).toBe(true));
  });
  afterAll(async () => {
    await projector.stop();
    await context.db.drop();
  });
  return context;
}
