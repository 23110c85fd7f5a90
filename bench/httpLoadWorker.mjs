// The HTTP load generator of the benchmarks, run in a worker thread so that the client's CPU does not
// come out of the service's event loop (as with wrk or autocannon in a separate process).
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

const { origin, requests, concurrency, durationMs, warmUpMs } = workerData;
const client = new Pool(origin, { connections: concurrency, pipelining: 1 });

/** Runs the request loops for `ms`; every non-2xx answer is counted, and the first one kept. */
async function load(ms, record) {
  const latencies = [];
  let failures = 0;
  let firstFailure = null;
  const deadline = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const r = requests[(worker + i * concurrency) % requests.length];
        const t = performance.now();
        const res = await client.request(r);
        const text = await res.body.text();
        if (res.statusCode < 200 || res.statusCode > 299) {
          failures++;
          firstFailure ??= `${r.method} ${r.path} -> ${res.statusCode}: ${text.slice(0, 300)}`;
        }
        if (record) latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, failures, firstFailure, seconds: (performance.now() - started) / 1000 };
}

/** Nanoseconds this thread has run on a CPU (Linux schedstat of the calling thread), or NaN. */
function threadCpuNs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

const warmUp = await load(warmUpMs, true);
if (warmUp.failures > 0) throw new Error(`warm-up: ${warmUp.firstFailure}`);
parentPort.postMessage({ phase: 'timed' }); // the serving thread starts its event-loop reading here
const cpuAtStart = threadCpuNs();
const result = await load(durationMs, true);
const clientCpuNs = threadCpuNs() - cpuAtStart;
await client.close();
parentPort.postMessage({ phase: 'done', ...result, clientCpuNs, warmUpOperations: warmUp.latencies.length });
