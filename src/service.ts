import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './infra/config/config';
import type { FeatureModule, ServiceContext } from './infra/composition/featureModule';
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
import { Projector } from './projections/runtime/projector';
import { mountProjectionRoutes, projectionRouteDocs } from './projections/runtime/projectionRoutes';
import { type ApiKey, authenticate } from './infra/http/auth';
import { commandErrorToProblem } from './commands/commandErrors';
import { features as allFeatures } from './features';
import { serviceVersion } from './infra/version';
import type { FeatureDefinition } from './infra/composition/featureModule';

export interface RunningService {
  url: string;
  port: number;
  host: string;
  context: ServiceContext;
  features: FeatureModule[];
  projector: Projector | null;
  /** Graceful: stop accepting, finish requests and the projector batch in flight, release locks. */
  stop(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  databaseUrl: string;
  /** Host to bind; the CLI decides it (127.0.0.1 when no API keys are configured). */
  host: string;
  /** API keys (see loadApiKeys); every /costsim route needs one. */
  apiKeys: readonly ApiKey[];
  logger?: Logger;
  features?: readonly FeatureDefinition[];
}

/** The composition root: builds every adapter, wires the slices, starts the roles. */
export async function startService({
  config,
  databaseUrl,
  host,
  apiKeys,
  logger: given,
  features,
}: StartOptions) {
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
  const apis = new Map<string, unknown>();
  const context: ServiceContext = {
    config,
    connectionString: databaseUrl,
    pool,
    store,
    listener,
    logger,
    metrics,
    apiKeys,
    apis,
  };
  const definitions = features ?? allFeatures;
  const modules = definitions.map((f) => {
    const module = f.create(context);
    apis.set(f.name, module.api);
    return module;
  });
  await listener.start([EVENTS_CHANNEL, ...definitions.flatMap((f) => f.channels ?? [])]);

  const projections = definitions.flatMap((f) => f.projections);
  const projector =
    config.projector.enabled && projections.length > 0
      ? new Projector({
          pool,
          store,
          connectionString: databaseUrl,
          projections,
          lockId: LockIds.projector,
          batchSize: config.projector.batchSize,
          batchMaxBytes: config.projector.batchMaxBytes,
          pollMs: config.projector.pollMs,
          batchWindowMs: config.projector.batchWindowMs,
          retry: config.projector.retry,
          wakeups,
          logger,
          observer: {
            onBatch: (projection, n) => metrics.projectorEvents.inc({ projection }, n),
            onLeadership: (leader) => metrics.projectorLeader.set(leader ? 1 : 0),
            onFailure: (projection) => metrics.projectorFailures.inc({ projection }),
          },
        })
      : null;
  projector?.start();
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
        metricsAccess: config.metrics,
      });
      for (const m of modules) m.mountPublic?.(express);
    },
    mount: (express) => {
      mountProjectionRoutes(express, pool);
      for (const m of modules) m.mount?.(express);
    },
  });
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
      await projector?.stop();
      await listener.stop();
      await pool.end();
      logger.info('stopped');
    })());

  const running: RunningService = { url, port, host, context, features: modules, projector, stop };
  return running;
}
