import type pg from 'pg';
import type { Logger } from 'pino';
import type { Observable } from 'rxjs';
import type { Config } from '../../infra/config/config';
import { PostgresEventStore } from '../../infra/eventStore/postgresEventStore';
import { createPool } from '../../infra/postgres/pool';
import type { Projection } from '../projection';
import { Projector, type ProjectorObserver } from './projector';

export interface ServeProjectorOptions {
  connectionString: string;
  instanceId: string;
  projections: readonly Projection[];
  lockId: number;
  settings: Config['projector'];
  wakeups: Observable<unknown>;
  logger: Logger;
  observer: ProjectorObserver;
}

/**
 * `serve`'s projector, on whichever thread runs it (ProjectorThread's worker, or PROJECTOR_THREAD=inline):
 * the lanes read and apply on a pool of their own, so a burst of API requests holding the service pool
 * cannot hold a lane up; each lane uses at most two connections at once (its batch and the next page's
 * read), plus the watch, so a flooded lane (provenance) cannot take the breaker lanes' either.
 */
export function createServeProjector(o: ServeProjectorOptions): { projector: Projector; pool: pg.Pool } {
  const pool = createPool(o.connectionString, {
    max: 2 * o.projections.length + 1,
    applicationName: `costsim-guard:${o.instanceId}:projector`,
  });
  const s = o.settings;
  const projector = new Projector({
    pool,
    store: new PostgresEventStore(pool),
    connectionString: o.connectionString,
    projections: o.projections,
    lockId: o.lockId,
    batchSize: s.batchSize,
    rangeBatchSize: s.rangeBatchSize,
    batchMaxBytes: s.batchMaxBytes,
    pollMs: s.pollMs,
    batchWindowMs: s.batchWindowMs,
    batchWindowMaxMs: s.batchWindowMaxMs,
    retry: s.retry,
    wakeups: o.wakeups,
    logger: o.logger,
    observer: o.observer,
  });
  return { projector, pool };
}
