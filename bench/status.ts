import { startServeReplicas } from '../test/support/serveReplicas';
import { testKeys } from '../test/support/serviceHarness';
import { type SseClient, openSse } from '../test/support/sseClient';
import { type Figure, createBenchDatabase, figure, percentile } from './harness';
import { httpLoad } from './httpLoad';

/**
 * The status page's event stream (GET /costsim/events/stream) against one real `serve` process:
 *  - delivery latency of a change to 100 connected SSE clients: 50 drift reports on one breaker, one every
 *    100 ms, each timed from its command's acknowledgement to each client receiving its event (5 000
 *    samples); every client must receive every change exactly once. Baseline, same run, same changes: a
 *    client polling GET /costsim/breakers/{name} back to back, timed from the same acknowledgement to the
 *    first answer showing the new version (and how many GETs each change cost it);
 *  - GET /costsim/breakers/{name} latency from 4 keep-alive clients (a worker thread) while the commands
 *    run, with the 100 stream clients connected vs (baseline) without any — the bound is +20 %.
 */
const BENCH = 'status';
const CLIENTS = Number(process.env.BENCH_STATUS_CLIENTS ?? 100);
const CHANGES = Number(process.env.BENCH_STATUS_CHANGES ?? 50);
const CHANGE_EVERY_MS = 100;
const BREAKER = 'bench_status';
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

interface Round {
  /** Per change: stream version → acknowledgement time (performance.now()). */
  acked: Map<number, number>;
  /** Polling: stream version → first time a GET showed it; and GETs sent. */
  polled: Map<number, number>;
  polls: number;
  get: Awaited<ReturnType<typeof httpLoad>>;
}

async function round(url: string): Promise<Round> {
  const acked = new Map<number, number>();
  const polled = new Map<number, number>();
  let polls = 0;
  let done = false;
  const poller = (async () => {
    while (!done) {
      const res = await fetch(`${url}/costsim/breakers/${BREAKER}`, { headers: auth(testKeys.read) });
      const { version } = (await res.json()) as { version: number };
      const at = performance.now();
      polls++;
      if (!polled.has(version)) polled.set(version, at);
    }
  })();
  const commands = (async () => {
    await new Promise((r) => setTimeout(r, 300)); // the GET load's warm-up
    for (let i = 0; i < CHANGES; i++) {
      const res = await fetch(`${url}/costsim/breakers/${BREAKER}/drift`, {
        method: 'POST',
        headers: { ...auth(testKeys.write), 'Content-Type': 'application/json' },
        body: JSON.stringify({ drift_score: 0.01 }),
      });
      const { state } = (await res.json()) as { state: { version: number } };
      acked.set(state.version, performance.now());
      await new Promise((r) => setTimeout(r, CHANGE_EVERY_MS));
    }
  })();
  const get = await httpLoad(
    url,
    [{ method: 'GET', path: `/costsim/breakers/${BREAKER}`, headers: auth(testKeys.read) }],
    { concurrency: 4, durationMs: CHANGES * CHANGE_EVERY_MS, warmUpMs: 300 },
  );
  await commands;
  await new Promise((r) => setTimeout(r, 500));
  done = true;
  await poller;
  if (get.failures > 0) throw new Error(`GET load failed: ${get.firstFailure}`);
  return { acked, polled, polls, get };
}

/** Versions seen after `acked`: version v first visible at t → t − ack(v) (a later version shows v too). */
function pollLatencies(r: Round): number[] {
  const seen = [...r.polled.entries()].sort((a, b) => a[0] - b[0]);
  return [...r.acked.entries()].map(([version, ack]) => {
    const first = seen.filter(([v]) => v >= version).map(([, t]) => t);
    return Math.max(0, Math.min(...first) - ack);
  });
}

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(4);
  const replicas = await startServeReplicas(db.url, 'bench-status', 1, { COSTSIM_BREAKERS: BREAKER });
  const url = replicas.urls[0]!;
  const clients: SseClient[] = [];
  try {
    // Baseline: no stream clients.
    const without = await round(url);

    for (let i = 0; i < CLIENTS; i++) {
      clients.push(await openSse(`${url}/costsim/events/stream`, auth(testKeys.read)));
    }
    const ready = Date.now() + 10_000;
    while (clients.some((c) => c.events[0]?.event !== 'ready')) {
      if (Date.now() > ready) throw new Error('stream clients not ready');
      await new Promise((r) => setTimeout(r, 20));
    }
    const marks = clients.map((c) => c.events.length);
    const withStreams = await round(url);

    const delivery: number[] = [];
    clients.forEach((c, i) => {
      const got = c.events
        .slice(marks[i])
        .map((e) => ({ e, change: JSON.parse(e.data) as { stream: string; stream_version: number } }))
        .filter(({ change }) => change.stream === `breaker-${BREAKER}`);
      const versions = got.map(({ change }) => change.stream_version);
      if (new Set(versions).size !== versions.length) throw new Error(`client ${i} got a change twice`);
      for (const version of withStreams.acked.keys()) {
        if (!versions.includes(version)) throw new Error(`client ${i} missed version ${version}`);
      }
      for (const { e, change } of got) {
        const ack = withStreams.acked.get(change.stream_version);
        if (ack !== undefined) delivery.push(Math.max(0, e.receivedAt - ack));
      }
    });
    delivery.sort((a, b) => a - b);
    const polling = pollLatencies(withStreams).sort((a, b) => a - b);
    const p = (xs: number[], q: number) => percentile(xs, q);
    const figures = [
      figure(
        BENCH,
        `sse_delivery_p50_ms (${CLIENTS} clients; baseline: polling GET)`,
        p(delivery, 0.5),
        'ms',
        p(polling, 0.5),
      ),
      figure(
        BENCH,
        `sse_delivery_p99_ms (${CLIENTS} clients; baseline: polling GET)`,
        p(delivery, 0.99),
        'ms',
        p(polling, 0.99),
      ),
      figure(BENCH, 'sse_deliveries (clients x changes, each exactly once)', delivery.length, 'events'),
      figure(
        BENCH,
        'polling_gets_per_change (the SSE client sends none)',
        withStreams.polls / CHANGES,
        'requests',
      ),
      figure(
        BENCH,
        `get_breaker_p50_ms with ${CLIENTS} streams (baseline: none)`,
        withStreams.get.p50Ms,
        'ms',
        without.get.p50Ms,
      ),
      figure(
        BENCH,
        `get_breaker_p99_ms with ${CLIENTS} streams (baseline: none)`,
        withStreams.get.p99Ms,
        'ms',
        without.get.p99Ms,
      ),
      figure(
        BENCH,
        `get_breaker_rps with ${CLIENTS} streams (baseline: none)`,
        withStreams.get.opsPerSecond,
        'req/s',
        without.get.opsPerSecond,
      ),
    ];
    const slowdown = withStreams.get.p50Ms / without.get.p50Ms;
    console.log(
      `target: ${CLIENTS} stream clients slow GET /costsim/breakers/{name} by <= 20 % (p50 ratio ${slowdown.toFixed(3)}: ${slowdown <= 1.2 ? 'met' : 'NOT met'})`,
    );
    return figures;
  } finally {
    for (const c of clients) c.close();
    await replicas.stop();
    await db.drop();
  }
}
