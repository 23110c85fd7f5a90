/**
 * The projector thread's entry (started by ProjectorThread, never imported by the service): the projector
 * with its own pool, NOTIFY listener and leadership lock, on an event loop of its own, so that a flooded
 * lane (provenance) costs the request thread nothing and the request thread's load delays no lane.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { allProjections } from '../../features';
import { EVENTS_CHANNEL } from '../../infra/eventStore/postgresEventStore';
import { PgNotificationListener } from '../../infra/postgres/notifications';
import { createServeProjector } from './serveProjector';
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

const listener = new PgNotificationListener(data.connectionString);
const { projector, pool } = createServeProjector({
  connectionString: data.connectionString,
  instanceId: data.instanceId,
  projections,
  lockId: data.lockId,
  settings: data.projector,
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
