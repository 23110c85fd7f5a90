import { AlertDeliveryWorker } from '../src/commands/alerts/alertDeliveryWorker';
import { BreakerCommandService } from '../src/commands/breaker/breakerCommandService';
import { firingBreakerAlert, assertFiring } from '../src/domain/alerts/breakerAlerts';
import { defaultBreakerPolicy } from '../src/domain/breaker';
import type { BreakerTrippedData } from '../src/domain/breaker/breakerEvents';
import { AlertmanagerClient } from '../src/infra/alertmanager/alertmanagerClient';
import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { alertQueueProjection } from '../src/projections/alerts/alertQueueProjection';
import { cbIncidentsProjection } from '../src/projections/breaker/cbIncidentsProjection';
import { Projector } from '../src/projections/runtime/projector';
import { startAlertmanager } from '../test/support/alertmanager';
import { type Figure, createBenchDatabase, figure, printFigures } from './harness';

/**
 * The alert outbox draining into a REAL Alertmanager: N incidents (one per breaker) are projected into
 * alert_queue, then delivery workers drain it — routing, SKIP LOCKED claims, render, POST, outcome event,
 * row update, per alert. Baseline, measured in the same run: the same number of alerts POSTed straight
 * to the same Alertmanager with the same client at the same concurrency (no queue, no events). Every row
 * must end `sent`, each exactly once (AlertDelivered events counted).
 */
const BENCH = 'alerts';
const INCIDENTS = Number(process.env.BENCH_ALERTS ?? 1000);
const BATCH = 50;

export async function run(): Promise<Figure[]> {
  const am = await startAlertmanager();
  const db = await createBenchDatabase(24);
  const client = new AlertmanagerClient({ timeoutMs: 10_000 });
  const store = new PostgresEventStore(db.pool);
  const projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [alertQueueProjection, cbIncidentsProjection],
    lockId: 7010,
    pollMs: 20,
  });
  const figures: Figure[] = [];
  try {
    projector.start();
    const source = {
      instance: 'bench',
      publicUrl: 'http://bench.test',
      runbookUrl: 'http://bench.test/runbook',
    };

    // Baseline: the same alerts, straight to Alertmanager, BATCH in flight.
    const trip = (i: number): BreakerTrippedData => ({
      actor: 'bench',
      at: new Date().toISOString(),
      incident_id: `base${String(i).padStart(8, '0')}`,
      severity: 'P2',
      trigger: 'manual',
      reason: 'bench',
      disabled_by: 'bench',
      disabled_until: null,
      ttl_hours: 0,
      drift_score: 0,
      sample_count: 0,
      threshold: null,
      failure_threshold: null,
      error_count: null,
      failures_before: 0,
      failures_after: 0,
      details: {},
    });
    let next = 0;
    const baseStarted = performance.now();
    await Promise.all(
      Array.from({ length: BATCH }, async () => {
        while (next < INCIDENTS) {
          const i = next++;
          const alert = assertFiring(
            firingBreakerAlert({ name: `base_${i}`, tenant_id: null }, trip(i), source),
            new Date(),
            60,
          );
          const result = await client.post(am.url, [alert]);
          if (!result.ok) throw new Error(`baseline post failed: ${result.error}`);
        }
      }),
    );
    const baseline = INCIDENTS / ((performance.now() - baseStarted) / 1000);

    // The outbox: N trips, projected into the queue, then drained by 1 and by 3 workers.
    const commands = new BreakerCommandService(store, defaultBreakerPolicy);
    for (const workers of [1, 3]) {
      const prefix = `w${workers}_`;
      for (let i = 0; i < INCIDENTS; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, INCIDENTS - i) }, (_, k) =>
            commands.execute({ name: `${prefix}${i + k}`, tenantId: null }, (now, incidentId) => ({
              type: 'DisableBreaker',
              reason: 'bench',
              actor: 'bench',
              incident_id: incidentId,
              now,
            })),
          ),
        );
      }
      for (const deadline = Date.now() + 60_000; ;) {
        const { rows } = await db.pool.query<{ n: number }>(
          `select count(*)::int as n from alert_queue where circuit_breaker_name like $1`,
          [`${prefix}%`],
        );
        if (rows[0]!.n === INCIDENTS) break;
        if (Date.now() > deadline) throw new Error('intents were not projected in time');
        await new Promise((r) => setTimeout(r, 50));
      }
      const pool = Array.from(
        { length: workers },
        (_, w) =>
          new AlertDeliveryWorker({
            pool: db.pool,
            store,
            sender: client,
            targets: [am.url],
            source,
            resendIntervalSeconds: 60,
            workerId: `bench-${w}`,
            batchSize: Math.ceil(BATCH / workers),
          }),
      );
      const started = performance.now();
      await Promise.all(pool.map((w) => w.pass()));
      const seconds = (performance.now() - started) / 1000;
      const { rows } = await db.pool.query<{ sent: number; delivered_events: number }>(
        `select (select count(*)::int from alert_queue where circuit_breaker_name like $1 and status = 'sent') as sent,
                (select count(*)::int from es_events where event_type = 'AlertDelivered'
                   and data->>'row_id' in (select id from alert_queue where circuit_breaker_name like $1))
                  as delivered_events`,
        [`${prefix}%`],
      );
      const { sent, delivered_events: delivered } = rows[0]!;
      if (sent !== INCIDENTS || delivered !== INCIDENTS) {
        throw new Error(
          `${workers} workers: ${sent} rows sent, ${delivered} AlertDelivered events, ${INCIDENTS} expected`,
        );
      }
      figures.push(
        figure(BENCH, `outbox_drain_${workers}_workers`, INCIDENTS / seconds, 'alerts/s', baseline),
      );
    }
    const inAm = (await am.alerts()).filter((a) => a.labels.alertname === 'CostSimV2Disabled').length;
    figures.unshift(
      figure(BENCH, 'direct_post_baseline', baseline, 'alerts/s'),
      figure(BENCH, 'alerts_listed_by_alertmanager', inAm, 'alerts'),
    );
    console.error(
      `[bench ${BENCH}] ${INCIDENTS} alerts per run, every row sent exactly once; outbox vs direct POST: ` +
        figures
          .filter((f) => f.ratio !== undefined)
          .map((f) => `${f.metric} ${f.ratio}x`)
          .join(', '),
    );
  } finally {
    await projector.stop();
    await client.close();
    await db.drop();
    await am.stop();
  }
  return figures;
}

if (require.main === module) {
  run().then(printFigures, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
