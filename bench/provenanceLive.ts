import { rmSync } from 'node:fs';
import os from 'node:os';
import type pg from 'pg';
import { startQuietServe } from '../test/support/quietServe';
import { replicaEnv } from '../test/support/replicaEnv';
import { testKeys } from '../test/support/serviceHarness';
import { type Figure, createBenchDatabase, figure, percentile } from './harness';

/**
 * Issue #13: a real `serve` (its own configuration: nothing projector-related is overridden) fed provenance
 * over POST /costsim/provenance at its full accepted rate for 60 s by `CLIENTS` keep-alive loops, each
 * sending the same pre-serialised body of `BATCH` records (the server gives every record its own id), so the
 * load generator costs little CPU. Every second it prints the accepted and projected rates and the read
 * model's lag (events past the provenance checkpoint, and the age of the oldest), and how long the breaker's
 * own projection (cb_state) takes to pass a disable or enable acknowledged by the API: the breaker lane
 * must not wait behind the provenance lane. Baseline for that: the same probe before the feed starts.
 * At the end: the maximum lag, its slope over the last 20 s (bounded: it did not grow), the time to drain,
 * and every accepted record counted in `provenance`.
 */
const BENCH = 'provenance';
const FEED_SECONDS = Number(process.env.BENCH_FEED_SECONDS ?? 60);
const BATCH = Number(process.env.BENCH_FEED_BATCH ?? 1000);
const CLIENTS = Number(process.env.BENCH_FEED_CLIENTS ?? 4);

const body = JSON.stringify({
  records: Array.from({ length: BATCH }, (_, i) => ({
    run_id: `feed-${i % 97}`,
    variant_slug: 'v2',
    source: 'sandbox',
    model_version: '2.0.0',
    adapter_version: '2.0.0',
    commit_sha: 'bench',
    input_hash: `${'0'.repeat(58)}${String(i).padStart(6, '0')}`,
    output_hash: `${'1'.repeat(58)}${String(i).padStart(6, '0')}`,
    v1_cost: 5,
    v2_cost: 4,
    drift_score: 0.12,
    verdict: 'minor_drift',
    payload: { input: { plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }] } },
    runtime_ms: 0.4,
  })),
});

interface Sample {
  t: number;
  accepted: number;
  lagEvents: number;
  lagSeconds: number;
}

async function lag(pool: pg.Pool): Promise<{ lagEvents: number; lagSeconds: number }> {
  const { rows } = await pool.query<{ lag_events: number; lag_seconds: number | null }>(
    `select (select count(*)::int from (
               select 1 from es_events e
                where e.event_type = 'ProvenanceRecorded'
                  and (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                limit 5000000) pending) as lag_events,
            (select extract(epoch from clock_timestamp() - min(e.recorded_at))::float8 from (
               select recorded_at from es_events e
                where e.event_type = 'ProvenanceRecorded'
                  and (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                order by e.transaction_id, e.global_position limit 1) e) as lag_seconds
       from projection_checkpoints c where c.name = 'provenance'`,
  );
  return { lagEvents: rows[0]?.lag_events ?? 0, lagSeconds: Math.max(0, rows[0]?.lag_seconds ?? 0) };
}

/**
 * From the API's acknowledgement of a disable (or enable) to cb_state's checkpoint passing its event, and
 * to the event being readable at all (below every running transaction: what readAll waits for, whoever
 * holds it back — an append in flight, any open transaction), which the lane cannot beat.
 */
async function breakerProbe(
  url: string,
  pool: pg.Pool,
  disable: boolean,
): Promise<{ projectedMs: number; readableMs: number }> {
  const res = await fetch(`${url}/costsim/breakers/costsim_v2/${disable ? 'disable' : 'enable'}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${testKeys.admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(disable ? { reason: 'bench probe', ttl_hours: 0 } : { reason: 'bench probe over' }),
  });
  const acked = performance.now();
  if (res.status !== 200) throw new Error(`breaker probe: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  const { rows } = await pool.query<{ tx: string; pos: string }>(
    `select transaction_id::text as tx, global_position as pos from es_events
      where stream_name = 'breaker-costsim_v2' order by stream_version desc limit 1`,
  );
  let readableMs: number | null = null;
  for (const deadline = acked + 30_000; performance.now() < deadline;) {
    const { rows: seen } = await pool.query<{ done: boolean; readable: boolean }>(
      `select (transaction_id, global_position) >= ($1::xid8, $2::bigint) as done,
              $1::xid8 < pg_snapshot_xmin(pg_current_snapshot()) as readable
         from projection_checkpoints where name = 'cb_state'`,
      [rows[0]!.tx, rows[0]!.pos],
    );
    if (seen[0]?.readable || seen[0]?.done) readableMs ??= performance.now() - acked;
    if (seen[0]?.done) return { projectedMs: performance.now() - acked, readableMs: readableMs ?? 0 };
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('cb_state did not pass a breaker change within 30 s');
}

/**
 * serve's request-thread event-loop delay since the last scrape (prom-client resets it on every collection),
 * in ms: the projector's own loop too only when it runs inline (a worker thread's loop is not exported).
 */
async function loopDelayMs(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const m = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
}

/** Until this serve's projector leads (on its own thread it starts a moment after the API answers). */
async function projectorLeads(url: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const text = await fetch(`${url}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    if (/^costsim_projector_leader(?:\{[^}]*\})? 1$/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the projector did not lead within 60 s');
}

/**
 * `split`: the API on one `serve` (PROJECTOR_ENABLED=false) and the projector on another that serves no
 * feed: attribution, the same database work without the API's requests on the projector's event loop.
 * `thread`: PROJECTOR_THREAD for the serve (undefined: its default, a worker thread); `inline` puts the
 * projector back on the request thread, the baseline of the worker thread's figures.
 */
export async function liveFeed(
  figures: Figure[],
  { split = false, thread }: { split?: boolean; thread?: 'worker' | 'inline' } = {},
): Promise<void> {
  const db = await createBenchDatabase(4);
  const dirs: string[] = [];
  const envOf = (i: number, extra: NodeJS.ProcessEnv) => {
    const env: NodeJS.ProcessEnv = {
      ...replicaEnv(db.url, 'bench-provenance', i, dirs),
      ...(thread ? { PROJECTOR_THREAD: thread } : {}),
      ...extra,
    };
    delete env.PROJECTOR_POLL_MS; // serve's own configuration
    return env;
  };
  const serve = await startQuietServe(envOf(0, split ? { PROJECTOR_ENABLED: 'false' } : {}));
  const projecting = split ? await startQuietServe(envOf(1, {})) : serve;
  const tag = `${split ? 'split_' : ''}${thread === 'inline' ? 'inline_' : ''}`;
  let accepted = 0;
  let stopped = false;
  const failures: string[] = [];
  const feeding: Array<Promise<void>> = [];
  try {
    await projectorLeads(projecting.url);
    const quiet: number[] = [];
    const quietReadable: number[] = [];
    for (let i = 0; i < 20; i++) {
      const p = await breakerProbe(serve.url, db.pool, i % 2 === 0);
      quiet.push(p.projectedMs);
      quietReadable.push(p.readableMs);
    }

    const startedAt = performance.now();
    for (let c = 0; c < CLIENTS; c++) {
      feeding.push(
        (async () => {
          while (!stopped) {
            const res = await fetch(`${serve.url}/costsim/provenance`, {
              method: 'POST',
              headers: { Authorization: `Bearer ${testKeys.tenantA}`, 'Content-Type': 'application/json' },
              body,
            }).catch((err: unknown) => ({ status: 0, text: async () => String(err) }));
            const text = await res.text();
            if (res.status === 201) accepted += BATCH;
            else if (failures.push(`${res.status}: ${text.slice(0, 200)}`) > 20) stopped = true;
          }
        })(),
      );
    }
    const samples: Sample[] = [];
    const loaded: number[] = [];
    const loadedReadable: number[] = [];
    const loops: number[] = [];
    // A breaker change a second, on its own loop (a slow one must not hold the samples back).
    const probing = (async () => {
      for (let probe = 0; !stopped; probe++) {
        const t = performance.now();
        const p = await breakerProbe(serve.url, db.pool, probe % 2 === 0);
        loaded.push(p.projectedMs);
        loadedReadable.push(p.readableMs);
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t))));
      }
    })();
    probing.catch(() => {}); // awaited below; only a run that failed first leaves it unawaited
    let previous: Sample = { t: 0, accepted: 0, lagEvents: 0, lagSeconds: 0 };
    for (let second = 1; second <= FEED_SECONDS && !stopped; second++) {
      const due = startedAt + second * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      const at = (performance.now() - startedAt) / 1000;
      const taken = accepted;
      // Scraped every 5 s, as a scraper would: each scrape also counts every projection's lag.
      const scrape = second % 5 === 0 ? loopDelayMs(projecting.url) : Promise.resolve(NaN);
      const [lagNow, scraped] = await Promise.all([lag(db.pool), scrape]);
      if (!Number.isNaN(scraped)) loops.push(scraped);
      const delay = loops.at(-1) ?? NaN;
      const now = { t: at, accepted: taken, ...lagNow };
      samples.push(now);
      const dt = now.t - previous.t;
      const acceptedRate = (now.accepted - previous.accepted) / dt;
      const projectedRate = (now.accepted - now.lagEvents - (previous.accepted - previous.lagEvents)) / dt;
      console.log(
        `t=${String(second).padStart(2)}s accepted ${acceptedRate.toFixed(0).padStart(6)}/s ` +
          `projected ${projectedRate.toFixed(0).padStart(6)}/s lag ${String(now.lagEvents).padStart(7)} events ` +
          `${now.lagSeconds.toFixed(2)} s  cb_state ${loaded.at(-1)?.toFixed(0) ?? '-'} ms  ` +
          `loop p99 ${delay.toFixed(0)} ms  ` +
          `load ${os.loadavg()[0]!.toFixed(2)}`,
      );
      previous = now;
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const acceptedInFeed = accepted;
    stopped = true;
    await Promise.all([...feeding, probing]);
    if (failures.length > 0) throw new Error(`provenance feed: ${failures[0]}`);

    // Drained once the checkpoint passes the last record (cheap to ask, unlike counting what is left).
    const drainStarted = performance.now();
    const { rows: last } = await db.pool.query<{ tx: string; pos: string }>(
      `select transaction_id::text as tx, global_position as pos from es_events
        where event_type = 'ProvenanceRecorded' order by transaction_id desc, global_position desc limit 1`,
    );
    for (const deadline = Date.now() + 600_000; ;) {
      const { rows: done } = await db.pool.query<{ done: boolean }>(
        `select (transaction_id, global_position) >= ($1::xid8, $2::bigint) as done
           from projection_checkpoints where name = 'provenance'`,
        [last[0]!.tx, last[0]!.pos],
      );
      if (done[0]?.done) break;
      if (Date.now() > deadline) throw new Error('the projection did not drain within 600 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from provenance');
    if (rows[0]!.n !== accepted) throw new Error(`provenance holds ${rows[0]!.n} of ${accepted} accepted`);

    const last20 = samples.filter((s) => s.t > seconds - 20);
    const maxLagSeconds = Math.max(...samples.map((s) => s.lagSeconds));
    const maxLagEvents = Math.max(...samples.map((s) => s.lagEvents));
    const slopeSeconds = slope(last20.map((s) => [s.t, s.lagSeconds]));
    const slopeEvents = slope(last20.map((s) => [s.t, s.lagEvents]));
    // Grew: over the last 20 s the backlog rose by more than 2 % of what was accepted (the lag in seconds
    // is printed too, but it includes how long an append was in flight, which the projector cannot help).
    const grew = slopeEvents > 0.02 * (acceptedInFeed / seconds);
    for (const xs of [quiet, loaded, quietReadable, loadedReadable, loops]) xs.sort((a, b) => a - b);
    console.log(
      `${split ? 'split (API and projector apart) ' : ''}${thread === 'inline' ? 'projector inline (on the request thread) ' : ''}feed: ${acceptedInFeed} records in ${seconds.toFixed(1)} s (${(acceptedInFeed / seconds).toFixed(0)}/s accepted); ` +
        `max lag ${maxLagEvents} events / ${maxLagSeconds.toFixed(2)} s; last 20 s lag slope ` +
        `${slopeEvents.toFixed(0)} events/s, ${slopeSeconds.toFixed(3)} s/s: ${grew ? 'GREW' : 'bounded'}; ` +
        `drained in ${drainSeconds.toFixed(2)} s; cb_state p50/p99 ${percentile(loaded, 0.5).toFixed(0)}/` +
        `${percentile(loaded, 0.99).toFixed(0)} ms fed, ${percentile(quiet, 0.5).toFixed(0)}/` +
        `${percentile(quiet, 0.99).toFixed(0)} ms quiet (its event readable at all after p50 ` +
        `${percentile(loadedReadable, 0.5).toFixed(0)} ms fed, ${percentile(quietReadable, 0.5).toFixed(0)} ms quiet; ` +
        `p99 ${percentile(loadedReadable, 0.99).toFixed(0)} ms fed); load ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    figures.push(
      figure(BENCH, `${tag}feed_accepted`, acceptedInFeed / seconds, 'records/s'),
      figure(BENCH, `${tag}feed_max_lag_events`, maxLagEvents, 'events'),
      figure(BENCH, `${tag}feed_max_lag_seconds`, maxLagSeconds, 's'),
      figure(BENCH, `${tag}feed_lag_slope_last_20s`, slopeSeconds, 's/s'),
      figure(BENCH, `${tag}feed_lag_grew_last_20s`, grew ? 1 : 0, 'bool'),
      figure(BENCH, `${tag}feed_drain`, drainSeconds, 's'),
      figure(BENCH, `${tag}cb_state_latency_fed_p50`, percentile(loaded, 0.5), 'ms', percentile(quiet, 0.5)),
      figure(
        BENCH,
        `${tag}cb_state_latency_fed_p99`,
        percentile(loaded, 0.99),
        'ms',
        percentile(quiet, 0.99),
      ),
      figure(
        BENCH,
        `${tag}breaker_event_readable_fed_p50`,
        percentile(loadedReadable, 0.5),
        'ms',
        percentile(quietReadable, 0.5),
      ),
      // The part of the tail no lane can beat: the event is not readable yet (a transaction still runs).
      figure(
        BENCH,
        `${tag}breaker_event_readable_fed_p99`,
        percentile(loadedReadable, 0.99),
        'ms',
        percentile(quietReadable, 0.99),
      ),
      figure(BENCH, `${tag}request_thread_loop_delay_p99_median`, percentile(loops, 0.5), 'ms'),
      figure(BENCH, `${tag}feed_records_projected`, rows[0]!.n, 'records'),
    );
  } catch (err) {
    // What serve logged at warn and above says why (a lane's failure, leadership, the pool).
    for (const p of new Set([serve, projecting]))
      console.error(p.output().split('\n').filter(Boolean).slice(-30).join('\n'));
    throw err;
  } finally {
    stopped = true;
    await Promise.allSettled(feeding);
    await serve.stop();
    if (projecting !== serve) await projecting.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

/**
 * npm run bench -- provenanceLive: the feed alone (no catch-up), with the projector on its own thread
 * (serve's default), then, as the same run's baseline, on the request thread (PROJECTOR_THREAD=inline;
 * BENCH_PROVENANCE_INLINE=0 skips it).
 */
export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  await liveFeed(figures);
  if (process.env.BENCH_PROVENANCE_INLINE !== '0') {
    // Inline, cb_state has fallen more than 30 s behind a breaker change: said, and the figures above kept.
    await liveFeed(figures, { thread: 'inline' }).catch((err: unknown) => {
      console.error(`inline baseline failed: ${err instanceof Error ? err.message : String(err)}`);
      figures.push(figure(BENCH, 'inline_feed_failed', 1, 'bool'));
    });
  }
  return figures;
}
