import { PostgresEventStore } from '../../src/infra/eventStore/postgresEventStore';
import { LockIds } from '../../src/infra/postgres/lockIds';
import { cbIncidentsProjection } from '../../src/projections/breaker/cbIncidentsProjection';
import { cbStateProjection } from '../../src/projections/breaker/cbStateProjection';
import { Projector } from '../../src/projections/runtime/projector';
import type { TestDatabase } from './testDatabase';

/** The breaker's read models kept current by a fast-polling projector, as a service would run them. */
export function startBreakerProjector(db: TestDatabase): Projector {
  const projector = new Projector({
    pool: db.pool,
    store: new PostgresEventStore(db.pool),
    connectionString: db.url,
    projections: [cbStateProjection, cbIncidentsProjection],
    lockId: LockIds.projector,
    pollMs: 20,
    retryMs: 50,
  });
  projector.start();
  return projector;
}
