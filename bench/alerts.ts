import { request } from 'undici';
import {
  type AlertSender,
  AlertDeliveryWorker,
  DEFAULT_DELIVERY_BATCH_SIZE,
} from '../src/commands/alerts/alertDeliveryWorker';
import { BreakerCommandService } from '../src/commands/breaker/breakerCommandService';
import { firingBreakerAlert, assertFiring } from '../src/domain/alerts/breakerAlerts';
import { defaultBreakerPolicy } from '../src/domain/breaker';
import type { BreakerTrippedData } from '../src/domain/breaker/breakerEvents';
import { AlertmanagerClient } from '../src/infra/alertmanager/alertmanagerClient';
import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { alertQueueProjection } from '../src/projections/alerts/alertQueueProjection';
import { cbIncidentsProjection } from '../src/projections/breaker/cbIncidentsProjection';
import { Projector } from '../src/projections/runtime/projector';
import { type RunningAlertmanager, startAlertmanager } from '../test/support/alertmanager';
import { type BenchDatabase, type Figure, createBenchDatabase, figure, printFigures } from './harness';
import { POSTGRES, cpuCeiling, cpuCeilingMetric, cpuSecondsBetween, cpuSnapshot } from './processCpu';

/**
 * The alert outbox draining into a REAL Alertmanager (issue #13): N incidents (one per breaker) are
 * projected into alert_queue, then 1 and then 3 delivery workers drain it — routing, SKIP LOCKED claims of
 * BATCH rows, render, one POST per batch, the batch's outcome events and rows in one transaction.
 *
 * Baseline, measured in the same run after a throw-away warm-up round: the same alerts POSTed straight to
 * the same Alertmanager with the same client, BATCH alerts per POST, as many POSTs in flight as there are
 * workers (no queue, no events). Each drain is printed with its ratio to the baseline of its concurrency,
 * and the 3-worker drain with its ratio to the 1-worker one (scaling). Every alert must be delivered
 * exactly once: one AlertDelivered event per row, every row `sent`, and every breaker's alert listed by
 * Alertmanager (GET /api/v2/alerts, distinct by the circuit_breaker label).
 *
 * Each run also prints its CPU per alert in each process — this one (workers, projector, client),
 * PostgreSQL and Alertmanager — and the rate those costs allow on this machine's cores if nothing else
 * ran (`*_cpu_ceiling`, beside the baseline): on two shared cores a drain's rate is bounded by its CPU in
 * all three, and the baseline's by Alertmanager's and the client's alone.
 *
 * Last, the 1-worker drain once more with a sender that answers at once (no Alertmanager): the rate the
 * outbox alone allows, beside the same baseline, so that a miss can be put on the outbox or on Alertmanager.
 */
const BENCH = 'alerts';
/** 4 000: twenty batches of the default size per drain, so that three workers have several each. */
const INCIDENTS = Number(process.env.BENCH_ALERTS ?? 4000);
/** Rows a worker claims and POSTs at once (the worker's default); the baseline POSTs as many. */
const BATCH = Number(process.env.BENCH_ALERTS_BATCH ?? DEFAULT_DELIVERY_BATCH_SIZE);
const WARMUP = 500;
const source = { instance: 'bench', publicUrl: 'http://bench.test', runbookUrl: 'http://bench.test/runbook' };

const trip = (incidentId: string): BreakerTrippedData => ({
  actor: 'bench',
  at: new Date().toISOString(),
  incident_id: incidentId,
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

/** What a run cost: its rate, and its CPU per alert in each process (µs; NaN where it cannot be read). */
interface CostedRate {
  rate: number;
  cpuUsPerAlert: { bench: number; postgres: number; alertmanager: number };
}

/** `run` (which handles `count` alerts and returns their rate) with the CPU each process spent on it. */
async function costed(
  am: RunningAlertmanager,
  count: number,
  run: () => Promise<number>,
): Promise<CostedRate> {
  const amPid = am.pid();
  const alertmanagerCpu = () => (amPid === null ? null : cpuSnapshot({ pid: amPid }));
  const before = {
    bench: process.cpuUsage(),
    postgres: cpuSnapshot(POSTGRES),
    alertmanager: alertmanagerCpu(),
  };
  const rate = await run();
  const bench = process.cpuUsage(before.bench);
  const perAlert = (seconds: number) => (seconds * 1e6) / count;
  return {
    rate,
    cpuUsPerAlert: {
      bench: (bench.user + bench.system) / count,
      postgres: perAlert(cpuSecondsBetween(before.postgres, cpuSnapshot(POSTGRES))),
      alertmanager: perAlert(cpuSecondsBetween(before.alertmanager, alertmanagerCpu())),
    },
  };
}

/** A run's CPU figures: per process, in all, and the rate that CPU allows on this machine's cores. */
function cpuFigures(metric: string, { cpuUsPerAlert }: CostedRate, baseline?: number): Figure[] {
  const { bench, postgres, alertmanager } = cpuUsPerAlert;
  const total = bench + postgres + alertmanager;
  return [
    figure(BENCH, `${metric}_cpu_per_alert_bench_process`, bench, 'us'),
    figure(BENCH, `${metric}_cpu_per_alert_postgres`, postgres, 'us'),
    figure(BENCH, `${metric}_cpu_per_alert_alertmanager`, alertmanager, 'us'),
    figure(BENCH, cpuCeilingMetric(metric), cpuCeiling(total), 'alerts/s', baseline),
  ];
}

/** Alerts/s of `count` firing alerts POSTed BATCH per request, `concurrency` requests in flight. */
async function directPost(
  client: AlertmanagerClient,
  am: RunningAlertmanager,
  prefix: string,
  count: number,
  concurrency: number,
): Promise<number> {
  const alerts = Array.from({ length: count }, (_, i) =>
    assertFiring(
      firingBreakerAlert({ name: `${prefix}${i}`, tenant_id: null }, trip(`${prefix}${i}`), source),
      new Date(),
      600,
    ),
  );
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const batch = alerts.slice(next, next + BATCH);
        next += batch.length;
        const result = await client.post(am.url, batch);
        if (!result.ok) throw new Error(`baseline post failed: ${result.error}`);
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** Trips `count` breakers named `${prefix}<i>` and waits until their intents are queued. */
async function queueIntents(
  db: BenchDatabase,
  commands: BreakerCommandService,
  prefix: string,
  count: number,
) {
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, k) =>
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
  for (const deadline = Date.now() + 120_000; ;) {
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from alert_queue where circuit_breaker_name like $1`,
      [`${prefix}%`],
    );
    if (rows[0]!.n === count) return;
    if (Date.now() > deadline) throw new Error('intents were not projected in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Alerts/s of `workers` delivery workers draining the queue, checked: every row sent exactly once. */
async function drain(
  db: BenchDatabase,
  store: PostgresEventStore,
  sender: AlertSender,
  target: string,
  prefix: string,
  count: number,
  workers: number,
): Promise<number> {
  const pool = Array.from(
    { length: workers },
    (_, w) =>
      new AlertDeliveryWorker({
        pool: db.pool,
        store,
        sender,
        targets: [target],
        source,
        resendIntervalSeconds: 600,
        workerId: `bench-${prefix}${w}`,
        batchSize: BATCH,
      }),
  );
  const started = performance.now();
  await Promise.all(pool.map((w) => w.pass()));
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await db.pool.query<{ sent: number; delivered: number; distinct_rows: number }>(
    `with mine as (select id from alert_queue where circuit_breaker_name like $1)
     select (select count(*)::int from alert_queue where circuit_breaker_name like $1 and status = 'sent') as sent,
            count(*)::int as delivered, count(distinct e.data->>'row_id')::int as distinct_rows
       from es_events e where e.event_type = 'AlertDelivered' and e.data->>'row_id' in (select id from mine)`,
    [`${prefix}%`],
  );
  const { sent, delivered, distinct_rows: distinct } = rows[0]!;
  if (sent !== count || delivered !== count || distinct !== count) {
    throw new Error(
      `${workers} workers: ${sent} rows sent, ${delivered} AlertDelivered events for ${distinct} rows, ${count} expected`,
    );
  }
  return count / seconds;
}

/**
 * The breakers with `prefix` whose alert Alertmanager lists (GET /api/v2/alerts filtered by the
 * circuit_breaker label, distinct by it). Its own request: a listing of every alert held can take longer
 * than the test helper's 5 s on a loaded machine.
 */
async function listedAtAlertmanager(am: RunningAlertmanager, prefix: string): Promise<number> {
  const filter = encodeURIComponent(`circuit_breaker=~"${prefix}.*"`);
  const { statusCode, body } = await request(
    `${am.url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true&filter=${filter}`,
    { signal: AbortSignal.timeout(60_000) },
  );
  const text = await body.text();
  if (statusCode !== 200) throw new Error(`GET /api/v2/alerts answered ${statusCode}: ${text}`);
  const listed = JSON.parse(text) as Array<{ labels: Record<string, string> }>;
  return new Set(
    listed
      .filter((a) => a.labels.alertname === 'CostSimV2Disabled')
      .map((a) => a.labels.circuit_breaker ?? '')
      .filter((name) => name.startsWith(prefix)),
  ).size;
}

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
    const commands = new BreakerCommandService(store, defaultBreakerPolicy);

    // Throw-away round: connections, prepared statements and plans, Alertmanager's first alerts.
    await directPost(client, am, 'warm_direct_', WARMUP, 3);
    await queueIntents(db, commands, 'warm_', WARMUP);
    await drain(db, store, client, am.url, 'warm_', WARMUP, 3);

    const drains = new Map<number, number>();
    const baselines = new Map<number, number>();
    for (const workers of [1, 3]) {
      const direct = await costed(am, INCIDENTS, () =>
        directPost(client, am, `base${workers}_`, INCIDENTS, workers),
      );
      const baseline = direct.rate;
      baselines.set(workers, baseline);
      const prefix = `w${workers}_`;
      await queueIntents(db, commands, prefix, INCIDENTS);
      const drained = await costed(am, INCIDENTS, () =>
        drain(db, store, client, am.url, prefix, INCIDENTS, workers),
      );
      const rate = drained.rate;
      drains.set(workers, rate);
      const listed = await listedAtAlertmanager(am, prefix);
      if (listed !== INCIDENTS) {
        throw new Error(`${workers} workers: Alertmanager lists ${listed} of ${INCIDENTS} alerts`);
      }
      figures.push(
        figure(BENCH, `direct_post_batched_${workers}_in_flight`, baseline, 'alerts/s'),
        figure(BENCH, `outbox_drain_${workers}_workers`, rate, 'alerts/s', baseline),
        figure(BENCH, `alerts_listed_by_alertmanager_${workers}_workers`, listed, 'alerts'),
        ...cpuFigures(`direct_post_batched_${workers}_in_flight`, direct),
        ...cpuFigures(`outbox_drain_${workers}_workers`, drained, baseline),
      );
    }
    figures.push(figure(BENCH, 'outbox_drain_3_workers_vs_1', drains.get(3)!, 'alerts/s', drains.get(1)!));

    // Attribution: the same 1-worker drain with a sender that answers every POST at once (no network, no
    // Alertmanager), beside the 1-in-flight baseline: what the outbox itself (claim, render, outcome
    // events, projections) allows on this machine, whatever Alertmanager costs.
    const instant: AlertSender = { post: () => Promise.resolve({ ok: true }) };
    await queueIntents(db, commands, 'nosend_', INCIDENTS);
    const outboxOnly = await costed(am, INCIDENTS, () =>
      drain(db, store, instant, 'http://no-alertmanager.invalid', 'nosend_', INCIDENTS, 1),
    );
    figures.push(
      figure(
        BENCH,
        'outbox_drain_1_worker_without_alertmanager',
        outboxOnly.rate,
        'alerts/s',
        baselines.get(1),
      ),
      ...cpuFigures('outbox_drain_1_worker_without_alertmanager', outboxOnly, baselines.get(1)),
    );
    console.error(
      `[bench ${BENCH}] ${INCIDENTS} alerts per run, ${BATCH} per POST, every row sent exactly once ` +
        `(and listed by Alertmanager, where it was the target); ratios: ` +
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
