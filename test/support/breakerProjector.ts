import { PostgresEventStore } from '../../src/infra/eventStore/postgresEventStore';
import { LockIds } from '../../src/infra/postgres/lockIds';
import type { Projection } from '../../src/projections/projection';
import { cbIncidentsProjection } from '../../src/projections/breaker/cbIncidentsProjection';
import { cbStateProjection } from '../../src/projections/breaker/cbStateProjection';
import { Projector, type ProjectorOptions } from '../../src/projections/runtime/projector';
import type { TestDatabase } from './testDatabase';

/** A started projector of `projections` on the test database, fast-polling; `options` override. */
export function startProjector(
  db: TestDatabase,
  projections: readonly Projection[],
  options: Partial<ProjectorOptions> = {},
): Projector {
  const projector = new Projector({
    pool: db.pool,
    store: new PostgresEventStore(db.pool),
    connectionString: db.url,
    projections,
    lockId: LockIds.projector,
    pollMs: 20,
    retryMs: 50,
    ...options,
  });
  projector.start();
  return projector;
}

/** The breaker's read models kept current by a fast-polling projector, as a service would run them. */
export function startBreakerProjector(db: TestDatabase): Projector {
  return startProjector(db, [cbStateProjection, cbIncidentsProjection]);
}
