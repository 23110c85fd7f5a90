import { Counter, Gauge } from 'prom-client';
import type { AlertSource } from '../../domain/alerts/breakerAlerts';
import { AlertmanagerClient } from '../../infra/alertmanager/alertmanagerClient';
import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { LockIds } from '../../infra/postgres/lockIds';
import { AlertQueries } from '../../projections/alerts/alertQueries';
import { ALERT_QUEUE_CHANNEL, alertQueueProjection } from '../../projections/alerts/alertQueueProjection';
import { AlertDeliveryWorker } from './alertDeliveryWorker';
import { AlertReasserter } from './alertReasserter';
import { alertRouteDocs } from './alertRouteDocs';
import { mountAlertRoutes } from './alertRoutes';

/**
 * Alerts to Alertmanager (docs/domain.md §4): intents projected from breaker events into alert_queue, delivered
 * by a worker on every replica, firing alerts re-asserted by one replica (lock 7002).
 */
/** The alerts slice's in-process API (tests drive the worker and the reasserter through it). */
export interface AlertsApi {
  worker: AlertDeliveryWorker;
  reasserter: AlertReasserter;
  queries: AlertQueries;
  client: AlertmanagerClient;
}

export const alertsFeature: FeatureDefinition<AlertsApi> = {
  name: 'alerts',
  projections: [alertQueueProjection],
  channels: [ALERT_QUEUE_CHANNEL],
  routes: alertRouteDocs,
  create(ctx) {
    const { alertmanager, instanceId, port } = ctx.config;
    const publicUrl = (alertmanager.publicUrl ?? `http://${instanceId}:${port}`).replace(/\/+$/, '');
    const source: AlertSource = {
      instance: instanceId,
      publicUrl,
      // The service serves its own runbooks (docs/runbooks/) at /docs/runbooks/.
      runbookUrl: alertmanager.runbookUrl ?? `${publicUrl}/docs/runbooks/`,
    };
    const client = new AlertmanagerClient({ timeoutMs: alertmanager.timeoutSeconds * 1000 });
    const registers = [ctx.metrics.registry];
    const delivered = new Counter({
      name: 'costsim_alerts_delivered_total',
      help: 'Alerts delivered to an Alertmanager by this instance (per target)',
      labelNames: ['alert_type'],
      registers,
    });
    const failed = new Counter({
      name: 'costsim_alerts_failed_total',
      help: 'Failed alert sends by this instance; final = no attempt left (status failed)',
      labelNames: ['alert_type', 'final'],
      registers,
    });
    const reasserted = new Counter({
      name: 'costsim_alerts_reasserted_total',
      help: 'Re-assertions of firing alerts and re-sent resolves, by outcome',
      labelNames: ['ok'],
      registers,
    });
    const queries = new AlertQueries(ctx.pool);
    new Gauge({
      name: 'costsim_alert_queue',
      help: 'Alert queue rows by status (all instances; read at scrape time)',
      labelNames: ['status'],
      registers,
      async collect() {
        const stats = await queries.stats().catch(() => null);
        if (!stats) return;
        for (const status of ['pending', 'sent', 'failed'] as const) this.set({ status }, stats[status]);
      },
    });
    const worker = new AlertDeliveryWorker({
      pool: ctx.pool,
      store: ctx.store,
      sender: client,
      targets: alertmanager.urls,
      source,
      resendIntervalSeconds: alertmanager.resendIntervalSeconds,
      workerId: instanceId,
      pollMs: alertmanager.deliveryPollMs,
      batchSize: alertmanager.deliveryBatchSize,
      wakeups: ctx.listener.on(ALERT_QUEUE_CHANNEL),
      logger: ctx.logger,
      clock: ctx.clock,
      observer: {
        onDelivered: (alertType) => delivered.inc({ alert_type: alertType }),
        onFailed: (alertType, final) => failed.inc({ alert_type: alertType, final: String(final) }),
      },
    });
    const reasserter = new AlertReasserter({
      connectionString: ctx.connectionString,
      lockId: LockIds.alertDelivery,
      pool: ctx.pool,
      sender: client,
      targets: alertmanager.urls,
      source,
      resendIntervalSeconds: alertmanager.resendIntervalSeconds,
      logger: ctx.logger,
      onSend: (ok) => reasserted.inc({ ok: String(ok) }),
      clock: ctx.clock,
    });
    const api: AlertsApi = { worker, reasserter, queries, client };
    return {
      api,
      mount(app) {
        mountAlertRoutes(app, {
          queries,
          store: ctx.store,
          pool: ctx.pool,
          clock: ctx.clock,
          onChange: () => void worker.kick(),
        });
      },
      async start() {
        worker.start();
        reasserter.start();
      },
      async stop() {
        await reasserter.stop();
        await worker.stop();
        await client.close();
      },
    };
  },
};
