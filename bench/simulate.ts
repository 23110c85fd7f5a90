import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import type { Pool } from 'pg';
import { join } from 'node:path';
import { loadConfig } from '../src/infra/config/config';
import { createLogger } from '../src/infra/logging/logger';
import { type RunningService, startService } from '../src/service';
import { testApiKeys, testKeys } from '../test/support/serviceHarness';
import { type Figure, createBenchDatabase, figure, measureThroughput, printFigures } from './harness';
import { startHttpFloor } from './httpFloor';
import { httpLoad } from './httpLoad';
import { cpuCeiling, cpuCeilingMetric } from './processCpu';
import { createRawInsertBaseline } from './rawInsertBaseline';
import { samplePlans } from './samplePlans';

/**
 * POST /costsim/v2/simulate with the sandbox on, the whole service in-process on a fresh database, 16
 * keep-alive clients from a worker thread (bench/httpLoad.ts). Every answer waits until its provenance
 * record and its drift observation are stored; after the run both are counted against the requests sent
 * (any miss fails the run). Baseline in the same run: a raw single-row INSERT at concurrency 8
 * (bench/rawInsertBaseline.ts), measured just before and just after, averaged. Target >= 0.4 x raw.
 * A second baseline (issue #13: an HTTP command against the service's own HTTP floor for a POST of the
 * same size): the same Express stack and server settings answering the same bodies with the same answers
 * and doing nothing else (bench/httpFloor.ts), driven by the same load generator. Last, for attribution, the
 * same load on a service started without the projector (a replica that does not hold the projector lock),
 * and on one whose lanes keep their batch window at its floor (PROJECTOR_BATCH_WINDOW_MAX_MS = the floor:
 * no growth under load), with the projector's batches per 1 000 requests of both.
 * BENCH_SIMULATE_ENV (JSON) adds settings to every service it starts.
 * The plans drift little (match / minor drift), so the breaker stays closed and V2 runs for every request.
 */
const BENCH = 'simulate';
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5000);
const CLIENTS = 16;
/**
 * Load before each timed window: a service that has just started is still compiling its hot paths (perf
 * of the first seconds: V8's optimising compiler on its four background threads was 15 % of the machine's
 * CPU, a third of the service's; under 1 % after 15 s), and a steady state is what is measured. The HTTP
 * floor gets the same.
 */
const WARM_UP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5000);

const plans = samplePlans;

/** More settings for every service this bench starts, as JSON (e.g. '{"PROJECTOR_BATCH_WINDOW_MS":"50"}'). */
const benchEnv = JSON.parse(process.env.BENCH_SIMULATE_ENV ?? '{}') as Record<string, string>;

/** Batches the service's projector has committed so far, all lanes (costsim_projector_batches_total). */
async function projectorBatches(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('costsim_projector_batches_total{'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(16);
  const dataDir = mkdtempSync(join(tmpdir(), 'costsim-bench-simulate-'));
  let service: RunningService | null = null;
  try {
    const baseline = await createRawInsertBaseline(db.pool);
    const rawInsert = () => measureThroughput(8, DURATION_MS, baseline.nextRun());
    const start = (env: Record<string, string> = {}) =>
      startService({
        config: loadConfig({
          PORT: '0',
          DATA_DIR: dataDir,
          LOG_LEVEL: 'silent',
          COSTSIM_V2_SANDBOX: 'true',
          ...benchEnv,
          ...env,
        }),
        databaseUrl: db.url,
        host: '127.0.0.1',
        apiKeys: testApiKeys,
        logger: createLogger('silent'),
      });
    service = await start();
    const requests = plans.map((body) => ({
      method: 'POST' as const,
      path: '/costsim/v2/simulate',
      headers: { authorization: `Bearer ${testKeys.write}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }));
    // The real answers (one request per plan, counted below), which the HTTP floor sends back.
    const answers = new Map<number, unknown>();
    for (const [i, r] of requests.entries()) {
      const res = await fetch(`${service.url}${r.path}`, {
        method: r.method,
        headers: r.headers,
        body: r.body,
      });
      if (res.status !== 200) throw new Error(`simulate: ${res.status} ${await res.text()}`);
      answers.set(plans[i]!.plan.length, await res.json());
    }
    const floor = await startHttpFloor(
      '/costsim/v2/simulate',
      (body) => answers.get((body as { plan: unknown[] }).plan.length),
      testApiKeys,
    );
    const load = (origin: string) =>
      httpLoad(origin, requests, { concurrency: CLIENTS, durationMs: DURATION_MS, warmUpMs: WARM_UP_MS });
    const rawBefore = await rawInsert();
    const floorRun = await load(floor.url);
    await floor.stop();
    const batchesBefore = await projectorBatches(service.url);
    const timed = await load(service.url);
    const batchesPer1000 =
      ((await projectorBatches(service.url)) - batchesBefore) /
      ((timed.warmUpOperations + timed.operations) / 1000);
    const rawAfter = await rawInsert();
    if (timed.failures > 0) throw new Error(`simulate: ${timed.failures} failed, e.g. ${timed.firstFailure}`);
    if (floorRun.failures > 0) throw new Error(`HTTP floor: ${floorRun.firstFailure}`);
    const raw = (rawBefore.opsPerSecond + rawAfter.opsPerSecond) / 2;

    // Every answer's provenance record and drift observation were stored before it returned.
    let sent = requests.length + timed.warmUpOperations + timed.operations;
    await expectStored(db.pool, sent);

    // The same load on a replica that does not run the projector (in a deployment, every replica but the
    // lock holder): what the request path costs without the projection lanes sharing its event loop.
    await service.stop();
    service = await start({ PROJECTOR_ENABLED: 'false' });
    const alone = await load(service.url);
    if (alone.failures > 0) throw new Error(`simulate: ${alone.failures} failed, e.g. ${alone.firstFailure}`);
    sent += alone.warmUpOperations + alone.operations;
    await expectStored(db.pool, sent);

    // And with the lanes' window fixed at its floor (no growth under load, as before the adaptive window):
    // what the window's growth saves, in the same run.
    await service.stop();
    const floorMs = benchEnv.PROJECTOR_BATCH_WINDOW_MS ?? '20';
    service = await start({ PROJECTOR_BATCH_WINDOW_MAX_MS: floorMs });
    const fixedBefore = await projectorBatches(service.url);
    const fixed = await load(service.url);
    if (fixed.failures > 0) throw new Error(`simulate: ${fixed.failures} failed, e.g. ${fixed.firstFailure}`);
    const fixedBatchesPer1000 =
      ((await projectorBatches(service.url)) - fixedBefore) /
      ((fixed.warmUpOperations + fixed.operations) / 1000);
    sent += fixed.warmUpOperations + fixed.operations;
    await expectStored(db.pool, sent);
    const ratio = timed.opsPerSecond / raw;
    console.log(
      `simulate ${Math.round(timed.opsPerSecond)}/s = ${ratio.toFixed(3)} x raw INSERT c8 ` +
        `(${Math.round(rawBefore.opsPerSecond)} before, ${Math.round(rawAfter.opsPerSecond)} after; target >= 0.4) ` +
        `${ratio >= 0.4 ? 'OK' : 'MISSED'}; all ${sent} provenance records and drift observations stored`,
    );
    console.log(
      `simulate without the projector in the process ${Math.round(alone.opsPerSecond)}/s = ` +
        `${(alone.opsPerSecond / raw).toFixed(3)} x raw INSERT c8 ` +
        `(${alone.serverBusyUsPerOp.toFixed(0)} us loop time, ${alone.serverCpuUsPerOp.toFixed(0)} us CPU per request)`,
    );
    const floorRatio = timed.opsPerSecond / floorRun.opsPerSecond;
    console.log(
      `simulate ${Math.round(timed.opsPerSecond)}/s = ${floorRatio.toFixed(3)} x the service's HTTP floor ` +
        `(same stack, same bodies and answers, no work: ${Math.round(floorRun.opsPerSecond)}/s, ` +
        `${floorRun.serverBusyUsPerOp.toFixed(0)} us loop time per request against ${timed.serverBusyUsPerOp.toFixed(0)})`,
    );
    console.log(
      `serving thread CPU per request (holds on a loaded machine, where loop time grows): simulate ` +
        `${timed.serverCpuUsPerOp.toFixed(0)} us, without the projector ${alone.serverCpuUsPerOp.toFixed(0)} us, ` +
        `HTTP floor ${floorRun.serverCpuUsPerOp.toFixed(0)} us; p50 ${timed.p50Ms.toFixed(1)} ms, p99 ${timed.p99Ms.toFixed(1)} ms; ` +
        `load average ${loadavg()[0]!.toFixed(2)}`,
    );
    console.log(
      `projector batches per 1 000 requests: ${batchesPer1000.toFixed(1)} with the adaptive window, ` +
        `${fixedBatchesPer1000.toFixed(1)} with it fixed at ${floorMs} ms (${Math.round(fixed.opsPerSecond)}/s, ` +
        `service process ${fixed.serviceProcessCpuUsPerOp.toFixed(0)} us and PostgreSQL ${fixed.postgresCpuUsPerOp.toFixed(0)} us ` +
        `of CPU per request against ${timed.serviceProcessCpuUsPerOp.toFixed(0)} and ${timed.postgresCpuUsPerOp.toFixed(0)})`,
    );
    // Where a request's CPU goes, machine-wide (two shared cores: everything below competes for them).
    const cpuInAll = (r: typeof timed) =>
      r.serviceProcessCpuUsPerOp + r.postgresCpuUsPerOp + r.clientCpuUsPerOp;
    const cpuLine = (name: string, r: typeof timed) =>
      `${name}: service process ${r.serviceProcessCpuUsPerOp.toFixed(0)} us (its serving thread ` +
      `${r.serverCpuUsPerOp.toFixed(0)}), PostgreSQL ${r.postgresCpuUsPerOp.toFixed(0)} us, load generator ` +
      `${r.clientCpuUsPerOp.toFixed(0)} us; in all ${cpuInAll(r).toFixed(0)} us`;
    console.log(
      `CPU per request — ${cpuLine('simulate', timed)}; ${cpuLine('without the projector', alone)}; ` +
        `${cpuLine('HTTP floor', floorRun)}`,
    );
    return [
      figure(BENCH, 'raw_insert_c8', raw, 'rows/s'),
      figure(BENCH, 'simulate_sandbox_c16', timed.opsPerSecond, 'requests/s', raw),
      figure(BENCH, 'simulate_sandbox_c16_p50', timed.p50Ms, 'ms'),
      figure(BENCH, 'simulate_sandbox_c16_p99', timed.p99Ms, 'ms'),
      figure(BENCH, 'http_floor_c16', floorRun.opsPerSecond, 'requests/s'),
      figure(BENCH, 'http_floor_loop_us_per_request', floorRun.serverBusyUsPerOp, 'us'),
      figure(BENCH, 'simulate_vs_http_floor', timed.opsPerSecond, 'requests/s', floorRun.opsPerSecond),
      figure(BENCH, 'simulate_loop_us_per_request', timed.serverBusyUsPerOp, 'us'),
      figure(BENCH, 'simulate_loop_utilization', timed.serverLoopUtilization, 'share'),
      figure(BENCH, 'simulate_cpu_us_per_request', timed.serverCpuUsPerOp, 'us'),
      figure(BENCH, 'simulate_no_projector_cpu_us_per_request', alone.serverCpuUsPerOp, 'us'),
      figure(BENCH, 'http_floor_cpu_us_per_request', floorRun.serverCpuUsPerOp, 'us'),
      figure(BENCH, 'simulate_sandbox_c16_no_projector', alone.opsPerSecond, 'requests/s', raw),
      figure(BENCH, 'simulate_no_projector_loop_us_per_request', alone.serverBusyUsPerOp, 'us'),
      figure(BENCH, 'simulate_service_process_cpu_us_per_request', timed.serviceProcessCpuUsPerOp, 'us'),
      figure(BENCH, 'simulate_postgres_cpu_us_per_request', timed.postgresCpuUsPerOp, 'us'),
      figure(BENCH, 'simulate_load_generator_cpu_us_per_request', timed.clientCpuUsPerOp, 'us'),
      figure(BENCH, 'simulate_no_projector_postgres_cpu_us_per_request', alone.postgresCpuUsPerOp, 'us'),
      figure(
        BENCH,
        'simulate_no_projector_service_process_cpu_us_per_request',
        alone.serviceProcessCpuUsPerOp,
        'us',
      ),
      figure(BENCH, 'http_floor_service_process_cpu_us_per_request', floorRun.serviceProcessCpuUsPerOp, 'us'),
      // The rate this CPU per request allows if it had the machine's cores to itself: what the target is
      // weighed against on a machine where the service, PostgreSQL and the load share two cores.
      figure(BENCH, cpuCeilingMetric('simulate'), cpuCeiling(cpuInAll(timed)), 'requests/s', raw),
      figure(BENCH, 'projector_batches_per_1000_requests', batchesPer1000, 'batches'),
      figure(BENCH, 'simulate_fixed_window_c16', fixed.opsPerSecond, 'requests/s', raw),
      figure(BENCH, 'projector_batches_per_1000_requests_fixed_window', fixedBatchesPer1000, 'batches'),
      figure(
        BENCH,
        'simulate_fixed_window_service_process_cpu_us_per_request',
        fixed.serviceProcessCpuUsPerOp,
        'us',
      ),
      figure(BENCH, 'simulate_fixed_window_postgres_cpu_us_per_request', fixed.postgresCpuUsPerOp, 'us'),
      figure(BENCH, 'provenance_records_and_observations_stored', sent, 'requests'),
    ];
  } finally {
    await service?.stop();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().then(printFigures, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

async function expectStored(pool: Pool, sent: number): Promise<void> {
  const { rows } = await pool.query<{ provenance: number; drift: number; trips: number }>(
    `select count(*) filter (where event_type = 'ProvenanceRecorded')::int as provenance,
            count(*) filter (where event_type = 'DriftObserved' and stream_name = 'breaker-costsim_v2')::int as drift,
            count(*) filter (where event_type = 'BreakerTripped')::int as trips
       from es_events`,
  );
  const stored = rows[0]!;
  if (stored.provenance !== sent || stored.drift !== sent || stored.trips !== 0) {
    throw new Error(
      `sent ${sent}, stored ${JSON.stringify(stored)} (expected every record and observation, no trip)`,
    );
  }
}
