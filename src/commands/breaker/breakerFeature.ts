import { Gauge } from 'prom-client';
import type { BreakerPolicy } from '../../domain/breaker';
import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { EVENTS_CHANNEL, PostgresEventStore } from '../../infra/eventStore/postgresEventStore';
import { CoalescingNotifier } from '../../infra/postgres/notifications';
import { PostgresSnapshotStore } from '../../infra/eventStore/postgresSnapshotStore';
import { createPool } from '../../infra/postgres/pool';
import { LockIds } from '../../infra/postgres/lockIds';
import { BreakerQueries } from '../../projections/breaker/breakerQueries';
import { mountBreakerQueryRoutes } from '../../projections/breaker/breakerQueryRoutes';
import { BreakerStateCache } from '../../projections/breaker/breakerStateCache';
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

/** The breaker slice's in-process API: the simulation, the canary, the status page and tests use it. */
export interface BreakerApi {
  service: BreakerCommandService;
  queries: BreakerQueries;
  /** The V2 gate's view of every breaker (this replica's). */
  cache: BreakerStateCache;
  recovery: BreakerRecoveryWorker | null;
  declarations: BreakerDeclarations;
}

export const breakerFeature: FeatureDefinition<BreakerApi> = {
  name: 'breaker',
  projections: [cbStateProjection, cbIncidentsProjection, cbDeclarationsProjection],
  routes: breakerRouteDocs,
  create(ctx) {
    const policy: BreakerPolicy = breakerPolicyFromConfig(ctx.config);
    // Bulkheads: the kill switch never queues behind bulk work for a connection. Breaker commands (their
    // appends and the NOTIFY that wakes other replicas' gates) and the V2 gate's reads each have
    // connections of their own, so a pool busy with provenance writes delays neither.
    const commandPool = createPool(ctx.connectionString, {
      max: 4,
      applicationName: `costsim-guard:${ctx.config.instanceId}:breaker`,
    });
    const commandStore = new PostgresEventStore(commandPool, {
      notifier: new CoalescingNotifier(commandPool),
      onAppend: (seconds, count) => {
        ctx.metrics.appendDuration.observe(seconds);
        ctx.metrics.appendedEvents.inc(count);
      },
    });
    const gatePool = createPool(ctx.connectionString, {
      max: 2,
      applicationName: `costsim-guard:${ctx.config.instanceId}:v2-gate`,
      statementTimeoutMs: 5000,
    });
    const cache = new BreakerStateCache(gatePool, policy, {
      pollMs: ctx.config.breaker.cachePollMs,
      maxStalenessMs: ctx.config.breaker.cacheMaxStalenessMs,
      wakeups: ctx.listener.on(EVENTS_CHANNEL),
      onError: (err) => ctx.logger.warn({ err }, 'V2 gate: reading breaker events failed'),
      onTrustChange: (status) => {
        if (status.trusted) ctx.logger.info('V2 gate trusted again: V2 may run where breakers are closed');
        else {
          ctx.logger.error(
            { gate_reasons: status.reasons, gate_detail: status.detail },
            'V2 gate failing closed: V2 is off for every tenant on this replica',
          );
        }
      },
    });
    const service = new BreakerCommandService(commandStore, policy, {
      counters: registerBreakerCounters(ctx.metrics.registry),
      maxQueue: ctx.config.commandQueueLimit,
      instance: ctx.config.instanceId,
      logger: ctx.logger,
      snapshots: {
        store: new PostgresSnapshotStore(ctx.pool),
        every: ctx.config.breaker.snapshotEvery,
        onError: (err) => ctx.logger.warn({ err }, 'breaker snapshot failed (a longer replay next time)'),
      },
      onCurrentState: (stream, state, version) => cache.learn(stream, state, version),
      clock: ctx.clock,
    });
    const queries = new BreakerQueries(ctx.pool, policy, ctx.clock, cache);
    const declarations = new BreakerDeclarations(ctx.store, ctx.pool, ctx.config.declaredBreakers, ctx.clock);
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
    // A global breaker's series carry no tenant_id at all: in Prometheus an empty label is the same as
    // none, and a series that names no tenant is not mistaken for a tenant's.
    const labelsOf = (b: { name: string; tenant_id: string | null }) =>
      b.tenant_id === null ? { breaker: b.name } : { breaker: b.name, tenant_id: b.tenant_id };
    new Gauge({
      name: 'costsim_v2_circuit_breaker_state',
      help: '1 when the breaker is open (V2 disabled), else 0',
      labelNames,
      registers: [ctx.metrics.registry],
      collect() {
        this.reset();
        for (const b of cache.all()) {
          this.set(labelsOf(b), cache.isOpen(b.name, b.tenant_id) ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'costsim_v2_gate_fail_closed',
      help: "1 while this replica's V2 gate cannot trust its breaker states and keeps V2 off for everyone (reasons in /health/ready)",
      registers: [ctx.metrics.registry],
      collect() {
        this.set(cache.failingClosed ? 1 : 0);
      },
    });
    new Gauge({
      name: 'costsim_v2_gate_staleness_seconds',
      help: 'Seconds since the V2 gate last read the breaker events successfully (it fails closed past BREAKER_CACHE_MAX_STALENESS_MS)',
      registers: [ctx.metrics.registry],
      collect() {
        this.set(Math.min(cache.stalenessSeconds, 1e9));
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
          this.set(labelsOf(b), b.state.consecutive_failures);
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
          this.set({ ...labelsOf(b), severity }, 1);
        }
      },
    });

    const api: BreakerApi = { service, queries, cache, recovery, declarations };
    return {
      api,
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
          gate: cache,
          declarations,
          clock: ctx.clock,
        });
        mountBreakerCommandRoutes(app, service, policy, ctx.clock);
      },
      async start() {
        await declarations.start();
        await cache.start();
        recovery?.start();
      },
      readiness() {
        const status = cache.status();
        return {
          name: 'v2_gate',
          ready: status.trusted,
          reasons: status.reasons.map((r) => `V2 gate failing closed (V2 off): ${r}`),
          check: status.trusted ? 'ok' : { fail_closed: true, reasons: status.reasons },
        };
      },
      async stop() {
        await recovery?.stop();
        cache.stop();
        await gatePool.end();
        await commandPool.end();
      },
    };
  },
};
