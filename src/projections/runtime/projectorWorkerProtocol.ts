import type { Config } from '../../infra/config/config';

/**
 * What the service hands its projector thread (structured-cloned: plain data only). The thread opens its
 * own pool, NOTIFY listener and leadership lock from it, so nothing of the request thread is shared.
 */
export interface ProjectorWorkerData {
  connectionString: string;
  instanceId: string;
  logLevel: string;
  lockId: number;
  /** Which of allProjections() to run, by name (a composition may run a subset: bench breaker). */
  projectionNames: readonly string[];
  projector: Config['projector'];
}

/** Thread → service: what the service's metrics, logs and shutdown need to know. */
export type ProjectorWorkerMessage =
  | { type: 'started' }
  | { type: 'batch'; projection: string; applied: number }
  | { type: 'failure'; projection: string }
  | { type: 'leadership'; leader: boolean }
  /** One pino JSON line of the thread's logger, re-logged by the service's own logger. */
  | { type: 'log'; line: string }
  /** The projector stopped (batches finished, lock released, pool closed): the thread ends next. */
  | { type: 'stopped' };

/** Service → thread. */
export type ProjectorWorkerCommand = { type: 'stop' };
