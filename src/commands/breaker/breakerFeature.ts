import { Gauge } from 'prom-client';
import type { BreakerPolicy } from '../../domain/breaker';
import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { PostgresSnapshotStore } from '../../infra/eventStore/postgresSnapshotStore';
import { LockIds } from '../../infra/postgres/lockIds';
import { BreakerQueries } from '../../projections/breaker/breakerQueries';
import { mountBreakerQueryRoutes } from '../../projections/breaker/breakerQueryRoutes';
import { BreakerStateCache } from '../../projections/breaker/breakerStateCache';
import { CB_STATE_CHANNEL as CB_STATE_CHANNEL_NAME } from '../../projections/breaker/cbStateProjection';
import { cbIncidentsProjection } from '../../projections/breaker/cbIncidentsProjection';
import { cbStateProjection } from '../../projections/breaker/cbStateProjection';
import { BreakerCommandService, registerBreakerCounters } from './breakerCommandService';
import { BreakerRecoveryWorker } from './breakerRecoveryWorker';
import { breakerPolicyFromConfig } from './breakerPolicyFromConfig';
import { BreakerDeclarations } from './breakerDeclarations';
import { mountBreakerDeclarationRoutes } from './breakerDeclarationRoutes';
import { cbDeclarationsProjection } from '../../projections/breaker/cbDeclarationsProjection';
import { mountBreakerCommandRoutes } from './breakerRoutes';
import { breakerRouteDocs } from './breakerRouteDocs';

export const breakerFeature: FeatureDefinition = {
  name: 'breaker',
  projections: [cbStateProjection, cbIncidentsProjection, cbDeclarationsProjection],
  channels: [CB_STATE_CHANNEL_NAME],
  routes: breakerRouteDocs,
  create(ctx) {
    const policy: BreakerPolicy = breakerPolicyFromConfig(ctx.config);
    const service = new BreakerCommandService(ctx.store, policy, {
      counters: registerBreakerCounters(ctx.metrics.registry),
      maxQueue: ctx.config.commandQueueLimit,
      instance: ctx.config.instanceId,
      logger: ctx.logger,
      snapshots: {
        store: new PostgresSnapshotStore(ctx.pool),
        every: ctx.config.breaker.snapshotEvery,
        onError: (err) => ctx.logger.warn({ err }, 'breaker snapshot failed (a longer replay next time)'),
      },
    });
    const cache = new BreakerStateCache(ctx.pool, policy, {
      pollMs: ctx.config.breaker.cachePollMs,
      changes: ctx.listener.on(CB_STATE_CHANNEL_NAME),
      onError: (err) => ctx.logger.warn({ err }, 'breaker cache reload failed'),
    });
    const queries = new BreakerQueries(ctx.pool, policy, () => new Date(), cache);
    const declarations = new BreakerDeclarations(ctx.store, ctx.pool, ctx.config.declaredBreakers);
    const recovery = policy.autoRecover
      ? new BreakerRecoveryWorker(
          ctx.connectionString,
          LockIds.breakerRecovery,
          queries,
          service,
          ctx.config.breaker.recoveryPollMs,
          ctx.logger,
        )
      : null;

    // Gauges read the in-memory cache at scrape time: no query per scrape.
    const labelNames = ['breaker', 'tenant_id'] as const;
    new Gauge({
      name: 'costsim_v2_circuit_breaker_state',
      help: '1 when the breaker is open (V2 disabled), else 0',
      labelNames,
      registers: [ctx.metrics.registry],
      collect() {
        this.reset();
        for (const b of cache.all()) {
          this.set(
            { breaker: b.name, tenant_id: b.tenant_id ?? '' },
            cache.isOpen(b.name, b.tenant_id) ? 1 : 0,
          );
        }
      },
    });
    new Gauge({
      name: 'costsim_cb_commands_waiting',
      help: 'Breaker commands queued on this instance behind the append in flight (503 past COMMAND_QUEUE_LIMIT per breaker)',
      registers: [ctx.metrics.registry],
      collect() {
        this.set(service.runner.waiting());
      },
    });
    new Gauge({
      name: 'costsim_cb_consecutive_failures',
      help: 'Consecutive drift failures counted by the breaker',
      labelNames,
      registers: [ctx.metrics.registry],
      collect() {
        this.reset();
        for (const b of cache.all()) {
          this.set({ breaker: b.name, tenant_id: b.tenant_id ?? '' }, b.state.consecutive_failures);
        }
      },
    });

    // The breaker-open alerts are per severity (deploy/prometheus/costsim-guard.rules.yml): the severity of
    // the open incident, which the cached state carries (BreakerState.incident; the cache types it as the
    // public snapshot, hence the narrow view here).
    new Gauge({
      name: 'costsim_v2_circuit_breaker_open_severity',
      help: '1 while the breaker is open, labelled with the severity of its open incident (P1|P2|P3; unknown if the state carries none)',
      labelNames: [...labelNames, 'severity'],
      registers: [ctx.metrics.registry],
      collect() {
        this.reset();
        for (const b of cache.all()) {
          if (!cache.isOpen(b.name, b.tenant_id)) continue;
          const { incident } = b.state as { incident?: { severity: string } | null };
          const severity = incident?.severity ?? 'unknown';
          this.set({ breaker: b.name, tenant_id: b.tenant_id ?? '', severity }, 1);
        }
      },
    });

    return {
      api: { service, queries, cache, recovery, declarations },
      mount(app) {
        // First: a route on an undeclared breaker answers 404 before anything else runs.
        mountBreakerDeclarationRoutes(app, declarations);
        // Reads first: they are the hot path, and express matches routes in order.
        mountBreakerQueryRoutes(app, {
          queries,
          store: ctx.store,
          policy,
          sandboxEnabled: ctx.config.sandboxEnabled,
          modelVersion: ctx.config.modelVersion,
          adapterVersion: ctx.config.adapterVersion,
          declarations,
        });
        mountBreakerCommandRoutes(app, service, policy);
      },
      async start() {
        await declarations.start();
        await cache.start();
        recovery?.start();
      },
      async stop() {
        await recovery?.stop();
        cache.stop();
      },
    };
  },
};
