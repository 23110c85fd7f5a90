import { Counter, Gauge } from 'prom-client';
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

interface BreakerApi {
  queries: BreakerQueries;
  cache: StatusSources['gate'];
  declarations: StatusSources['declarations'];
}

/**
 * The status page (docs/status-page.md): `/`, its data fragment and the live event stream. Read-only: it
 * reads the breaker slice's queries and gate (through `apis`), the provenance and alert read models, and
 * follows the event store through one shared feed per process.
 */
export const statusFeature: FeatureDefinition = {
  name: 'status',
  projections: [],
  routes: statusRouteDocs,
  create(ctx) {
    const breaker = ctx.apis.get('breaker') as BreakerApi | undefined;
    if (!breaker) throw new Error('the status page needs the breaker feature, created before it');
    const sources: StatusSources = {
      pool: ctx.pool,
      store: ctx.store,
      policy: breakerPolicyFromConfig(ctx.config),
      breakers: breaker.queries,
      declarations: breaker.declarations,
      gate: breaker.cache,
      provenance: new ProvenanceQueries(ctx.pool),
      alerts: new AlertQueries(ctx.pool),
    };
    const feed = new EventFeed(ctx.store, {
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
    return {
      mountPublic(app) {
        mountStatusPage(app, ctx.apiKeys, sources);
      },
      mount(app) {
        mountStatusFragmentRoute(app, sources);
        mountEventStreamRoute(app, {
          feed,
          store: ctx.store,
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
      closeStreams() {
        for (const connection of [...connections]) connection.close();
      },
      async stop() {
        feed.stop();
      },
    };
  },
};
