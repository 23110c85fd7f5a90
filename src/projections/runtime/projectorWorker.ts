/**
 * The projector thread's entry (started by ProjectorThread, never imported by the service): the projector
 * with its own pool, NOTIFY listener and leadership lock, on an event loop of its own, so that a flooded
 * lane (provenance) costs the request thread nothing and the request thread's load delays no lane.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { allProjections } from '../../features';
import { EVENTS_CHANNEL, PostgresEventStore } from '../../infra/eventStore/postgresEventStore';
import { PgNotificationListener } from '../../infra/postgres/notifications';
import { createPool } from '../../infra/postgres/pool';
import { Projector } from './projector';
import type {
  ProjectorWorkerCommand,
  ProjectorWorkerData,
  ProjectorWorkerMessage,
} from './projectorWorkerProtocol';

const port = parentPort;
if (!port) throw new Error('projectorWorker runs as a worker thread (ProjectorThread), not on its own');
const data = workerData as ProjectorWorkerData;
const post = (message: ProjectorWorkerMessage) => port.postMessage(message);

// Lines go to the service's logger (its destination, base fields and level), not to this thread's stdout.
const logger = pino(
  { level: data.logLevel, base: { thread: 'projector' }, timestamp: false },
  { write: (line: string) => post({ type: 'log', line }) },
);

const byName = new Map(allProjections().map((p) => [p.name, p]));
const projections = data.projectionNames.map((name) => {
  const projection = byName.get(name);
  if (!projection) throw new Error(`projector thread: unknown projection ${name}`);
  return projection;
});

const o = data.projector;
// Each lane uses at most two connections at once (its batch and the next page's read), plus the watch.
const pool = createPool(data.connectionString, {
  max: 2 * projections.length + 1,
  applicationName: `costsim-guard:${data.instanceId}:projector`,
});
const listener = new PgNotificationListener(data.connectionString);
const projector = new Projector({
  pool,
  store: new PostgresEventStore(pool),
  connectionString: data.connectionString,
  projections,
  lockId: data.lockId,
  batchSize: o.batchSize,
  rangeBatchSize: o.rangeBatchSize,
  batchMaxBytes: o.batchMaxBytes,
  pollMs: o.pollMs,
  batchWindowMs: o.batchWindowMs,
  retry: o.retry,
  wakeups: listener.on(EVENTS_CHANNEL),
  logger,
  observer: {
    onBatch: (projection, applied) => post({ type: 'batch', projection, applied }),
    onLeadership: (leader) => post({ type: 'leadership', leader }),
    onFailure: (projection) => post({ type: 'failure', projection }),
  },
});

let stopping: Promise<void> | null = null;
const stop = () =>
  (stopping ??= (async () => {
    await projector.stop(); // the batches in flight commit or roll back, then the lock is released
    await listener.stop();
    await pool.end();
    post({ type: 'stopped' });
    port.close(); // nothing left on this loop: the thread ends
  })());

port.on('message', (command: ProjectorWorkerCommand) => {
  if (command.type === 'stop') void stop();
});

void (async () => {
  // Never rejects: an unreachable database is retried in the background, and the lanes poll meanwhile.
  await listener.start([EVENTS_CHANNEL]);
  if (stopping) return;
  projector.start();
  post({ type: 'started' });
})();
