import { Counter, Gauge } from 'prom-client';
import { asyncScheduler, throttleTime } from 'rxjs';
import { EVENTS_CHANNEL, PostgresEventStore } from '../../infra/eventStore/postgresEventStore';
import { createPool } from '../../infra/postgres/pool';
import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { EventFeed } from '../../infra/eventStore/eventFeed';
import { AlertQueries } from '../alerts/alertQueries';
import type { BreakerQueries } from '../breaker/breakerQueries';
import { ProvenanceQueries } from '../provenance/provenanceQueries';
import { breakerPolicyFromConfig } from '../../commands/breaker/breakerPolicyFromConfig';
import { mountEventStreamRoute, streamedEventTypes } from './eventStreamRoute';
import { mountStatusFragmentRoute, mountStatusPage } from './statusRoutes';
import { statusRouteDocs } from './statusRouteDocs';
import type { SseConnection } from './sseConnection';
import type { StatusSources } from './statusSnapshot';

/** What the status page reads of the breaker slice. */
export interface StatusDeps {
  breaker: StatusBreaker;
}

interface StatusBreaker {
  queries: BreakerQueries;
  cache: StatusSources['gate'];
  declarations: StatusSources['declarations'];
}

/**
 * The status page (docs/status-page.md): `/`, its data fragment and the live event stream. Read-only: it
 * reads the breaker slice's queries and gate (a `create` dependency), the provenance and alert read models, and
 * follows the event store through one shared feed per process.
 */
/** The status slice's in-process API. */
export interface StatusApi {
  /** Ends every open event stream (clients reconnect with Last-Event-ID); shutdown calls it first. */
  closeStreams(): void;
}

export const statusFeature: FeatureDefinition<StatusApi, StatusDeps> = {
  name: 'status',
  projections: [],
  routes: statusRouteDocs,
  create(ctx, { breaker }) {
    const sources: StatusSources = {
      pool: ctx.pool,
      store: ctx.store,
      policy: breakerPolicyFromConfig(ctx.config),
      breakers: breaker.queries,
      declarations: breaker.declarations,
      gate: breaker.cache,
      provenance: new ProvenanceQueries(ctx.pool, ctx.clock),
      alerts: new AlertQueries(ctx.pool),
      clock: ctx.clock,
    };
    // A bulkhead, as the V2 gate has: the feed reads on a pool of its own, so a flood of provenance writes
    // on the main pool never delays it, and it never takes their connections. Wake-ups come with every
    // append anywhere (a flood: thousands a second): reads start at most every minReadGapMs.
    const feedPool = createPool(ctx.connectionString, {
      max: 2,
      applicationName: `costsim-guard:${ctx.config.instanceId}:event-stream`,
      statementTimeoutMs: 5000,
    });
    const feedStore = new PostgresEventStore(feedPool, {
      wakeups: ctx.listener.on(EVENTS_CHANNEL).pipe(
        throttleTime(ctx.config.statusStream.minReadGapMs, asyncScheduler, {
          leading: true,
          trailing: true,
        }),
      ),
    });
    const feed = new EventFeed(feedStore, {
      types: streamedEventTypes,
      pollIntervalMs: ctx.config.statusStream.pollMs,
      onError: (err) => ctx.logger.warn({ err }, 'event stream feed: reading events failed (retrying)'),
    });
    const connections = new Set<SseConnection>();
    new Gauge({
      name: 'costsim_status_stream_clients',
      help: 'Event-stream connections (GET /costsim/events/stream: status pages) open on this replica',
      registers: [ctx.metrics.registry],
      collect() {
        this.set(connections.size);
      },
    });
    const slowDisconnects = new Counter({
      name: 'costsim_status_stream_slow_disconnects_total',
      help: 'Event-stream clients disconnected for leaving more than STATUS_STREAM_MAX_BUFFERED_BYTES unread (they resume with Last-Event-ID)',
      registers: [ctx.metrics.registry],
    });
    const closeStreams = () => {
      for (const connection of [...connections]) connection.close();
    };
    return {
      api: { closeStreams },
      mountPublic(app) {
        mountStatusPage(app, ctx.apiKeys, sources);
      },
      mount(app) {
        mountStatusFragmentRoute(app, sources);
        mountEventStreamRoute(app, {
          feed,
          store: feedStore,
          heartbeatMs: ctx.config.statusStream.heartbeatMs,
          maxBufferedBytes: ctx.config.statusStream.maxBufferedBytes,
          logger: ctx.logger,
          connections,
          onSlowClient: () => slowDisconnects.inc(),
        });
      },
      async start() {
        await feed.start();
      },
      closeStreams,
      async stop() {
        feed.stop();
        await feedPool.end();
      },
    };
  },
};
