import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './infra/config/config';
import type {
  Composition,
  FeatureModule,
  FeatureModules,
  ServiceContext,
} from './infra/composition/featureModule';
import { PostgresEventStore, EVENTS_CHANNEL } from './infra/eventStore/postgresEventStore';
import { createHttpApp } from './infra/http/httpApp';
import { mountOperationsRoutes, operationsRouteDocs } from './infra/http/operationsRoutes';
import { buildOpenApi } from './infra/http/openapi';
import { type Logger, createLogger } from './infra/logging/logger';
import { ServiceMetrics } from './infra/metrics/metrics';
import { LockIds } from './infra/postgres/lockIds';
import { migrateLatest } from './infra/postgres/migrate';
import { createExpressServer } from './infra/http/httpServer';
import { CoalescingNotifier, PgNotificationListener } from './infra/postgres/notifications';
import { createPool } from './infra/postgres/pool';
import type pg from 'pg';
import { createServeProjector } from './projections/runtime/serveProjector';
import { type ProjectorRole, ProjectorThread } from './projections/runtime/projectorThread';
import { driftRollupProjection } from './projections/provenance/driftRollupProjection';
import { mountProjectionRoutes, projectionRouteDocs } from './projections/runtime/projectionRoutes';
import { type ApiKey, authenticate } from './infra/http/auth';
import { commandErrorToProblem } from './commands/commandErrors';
import { type ServiceSlices, allProjections, serviceComposition } from './features';
import type { Projection } from './projections/projection';
import { serviceVersion } from './infra/version';

export interface ServiceHandle {
  url: string;
  port: number;
  host: string;
  context: ServiceContext;
  /** This replica's projector role (on its own thread unless PROJECTOR_THREAD=inline); null when off. */
  projector: ProjectorRole | null;
  /** Graceful: stop accepting, finish requests and the projector batch in flight, release locks. */
  stop(): Promise<void>;
}

/** A started service: its handle and, under each slice's name, that slice's typed API (`service.alerts.worker`). */
export type RunningService<S = ServiceSlices> = S & ServiceHandle;

export interface StartOptions {
  config: Config;
  databaseUrl: string;
  /** Host to bind; the CLI decides it (127.0.0.1 when no API keys are configured). */
  host: string;
  /** API keys (see loadApiKeys); every /costsim route needs one. */
  apiKeys: readonly ApiKey[];
  logger?: Logger;
  /** The clock of every slice (commands, workers, routes); default: the system's. */
  clock?: () => Date;
}

/** The composition root: builds every adapter, wires the slices, starts the roles. */
export function startService(options: StartOptions): Promise<RunningService> {
  return startComposition(serviceComposition, options);
}

/** The API of every created slice, by the same names. */
function apisOf<S>(modules: FeatureModules<S>): S {
  // The one widening in the wiring: Object.entries forgets which key holds which slice; each value is the
  // `api` of the module under the same key, so the result is S by construction.
  return Object.fromEntries(Object.entries<FeatureModule<unknown>>(modules).map(([k, m]) => [k, m.api])) as S;
}

/**
 * The projector thread builds its projections from their names (allProjections(): a function cannot cross
 * to a worker), so a composition's projection that is not that same registered object would run as
 * another one, or make the thread end at start-up and restart for ever while serve looked healthy.
 * Refused before anything starts, with what to do.
 */
function assertThreadBuildsProjections(projections: readonly Projection[]): void {
  const registered = new Map(allProjections().map((p) => [p.name, p]));
  const foreign = projections.filter((p) => registered.get(p.name) !== p).map((p) => p.name);
  if (foreign.length > 0)
    throw new Error(
      `PROJECTOR_THREAD=worker runs only the projections registered in src/features.ts (allProjections()); ` +
        `not registered there: ${foreign.join(', ')}. Register them, or set PROJECTOR_THREAD=inline.`,
    );
}

/** startService for any set of slices (a benchmark runs the breaker alone). */
export async function startComposition<S>(
  composition: Composition<S>,
  { config, databaseUrl, host, apiKeys, logger: given, clock = () => new Date() }: StartOptions,
): Promise<RunningService<S>> {
  if (config.projector.enabled && config.projector.thread === 'worker')
    assertThreadBuildsProjections(composition.features.flatMap((f) => f.projections));
  const logger = given ?? createLogger(config.logLevel, { instance: config.instanceId });
  await migrateLatest(databaseUrl);

  const metrics = new ServiceMetrics({
    version: serviceVersion(),
    commit: config.commitSha,
    replica: config.instanceId,
  });
  const pool = createPool(databaseUrl, { max: 20, applicationName: `costsim-guard:${config.instanceId}` });
  const listener = new PgNotificationListener(databaseUrl);
  const wakeups = listener.on(EVENTS_CHANNEL);
  const store = new PostgresEventStore(pool, {
    notifier: new CoalescingNotifier(pool),
    wakeups,
    onAppend: (seconds, count) => {
      metrics.appendDuration.observe(seconds);
      metrics.appendedEvents.inc(count);
    },
  });
  const context: ServiceContext = {
    config,
    connectionString: databaseUrl,
    pool,
    store,
    listener,
    logger,
    metrics,
    apiKeys,
    clock,
  };
  const definitions = composition.features;
  const created = composition.create(context);
  const modules: FeatureModule<unknown>[] = Object.values<FeatureModule<unknown>>(created);
  await listener.start([EVENTS_CHANNEL, ...definitions.flatMap((f) => f.channels ?? [])]);

  // drift_rollup only when asked for (COSTSIM_DRIFT_ROLLUP): its lane is costly beside a provenance flood,
  // on its own thread too (gateUnderFlood failed twice with it on, passed with it off: docs/projections.md).
  const projections = definitions
    .flatMap((f) => f.projections)
    .filter((p) => config.driftRollup || p !== driftRollupProjection);
  const projector = config.projector.enabled && projections.length > 0 ? startProjector() : null;
  function startProjector(): { role: ProjectorRole; thread: ProjectorThread | null; pool: pg.Pool | null } {
    const observer = {
      onBatch: (projection: string, n: number) => {
        metrics.projectorEvents.inc({ projection }, n);
        if (n > 0) metrics.projectorBatches.inc({ projection });
      },
      onLeadership: (leader: boolean) => metrics.projectorLeader.set(leader ? 1 : 0),
      onFailure: (projection: string) => metrics.projectorFailures.inc({ projection }),
    };
    if (config.projector.thread === 'worker') {
      // Its own thread, pool, NOTIFY listener and lock (ProjectorThread): its lanes wait behind no request.
      const thread = new ProjectorThread({
        data: {
          connectionString: databaseUrl,
          instanceId: config.instanceId,
          logLevel: logger.level, // the logger the lines go to (a test may pass its own), not LOG_LEVEL
          lockId: LockIds.projector,
          projectionNames: projections.map((p) => p.name),
          projector: config.projector,
        },
        logger,
        observer: {
          ...observer,
          onThreadUp: (up) => metrics.projectorThreadUp.set(up ? 1 : 0),
          onThreadCrash: () => metrics.projectorThreadRestarts.inc(),
        },
      });
      thread.start();
      return { role: thread, thread, pool: null };
    }
    // In this thread (PROJECTOR_THREAD=inline), still on a pool of its own (createServeProjector).
    const inline = createServeProjector({
      connectionString: databaseUrl,
      instanceId: config.instanceId,
      projections,
      lockId: LockIds.projector,
      settings: config.projector,
      wakeups,
      logger,
      observer,
    });
    inline.projector.start();
    return { role: inline.projector, thread: null, pool: inline.pool };
  }
  for (const m of modules) await m.start?.();

  const routeDocs = [
    ...operationsRouteDocs,
    ...projectionRouteDocs,
    ...definitions.flatMap((f) => f.routes ?? []),
  ]; // = allRouteDocs() for the default features
  const openapi = buildOpenApi(routeDocs, serviceVersion());
  const app = createHttpApp({
    logger,
    metrics,
    errorMappers: [commandErrorToProblem],
    routes: routeDocs,
    bodyLimit: (req) =>
      modules.reduce<number | undefined>((found, m) => found ?? m.bodyLimit?.(req), undefined),
    streamsBody: (req) => modules.some((m) => m.streamsBody?.(req) ?? false),
    authenticate: authenticate(apiKeys),
    mountPublic: (express) => {
      express.get('/openapi.json', (_req, res) => void res.json(openapi));
      mountOperationsRoutes(express, {
        pool,
        metrics,
        maxLagSeconds: config.projector.maxLagSeconds,
        projectionNames: projections.map((p) => p.name),
        readiness: () => modules.flatMap((m) => (m.readiness ? [m.readiness()] : [])),
        ...(projector?.thread ? { projectorThread: projector.thread } : {}),
        metricsAccess: config.metrics,
      });
      for (const m of modules) m.mountPublic?.(express);
    },
    mount: (express) => {
      mountProjectionRoutes(express, pool);
      for (const m of modules) m.mount?.(express);
    },
  });
  // The projector thread loads its modules first (a moment; seconds from TypeScript sources under load):
  // serve answers once its projector has started, as when it ran in this thread.
  await projector?.thread?.started;
  const server: Server = await new Promise((resolve, reject) => {
    const s = createExpressServer(app, config.http, logger);
    s.once('error', reject);
    s.listen(config.port, host, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, projections: projections.map((p) => p.name) }, 'costsim-guard serving');

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const m of modules) m.closeStreams?.();
      server.closeIdleConnections();
      await closed;
      for (const m of [...modules].reverse()) await m.stop?.();
      await projector?.role.stop();
      await listener.stop();
      await projector?.pool?.end();
      await pool.end();
      logger.info('stopped');
    })());

  const handle: ServiceHandle = { url, port, host, context, projector: projector?.role ?? null, stop };
  return { ...apisOf(created), ...handle };
}
