import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { type Throughput, percentile } from './harness';
import { POSTGRES, cpuSecondsBetween, cpuSnapshot } from './processCpu';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpLoadResult extends Throughput {
  /** Requests answered with a non-2xx status (the benchmark fails on any). */
  failures: number;
  firstFailure: string | null;
  /** Requests sent (and answered with 2xx) during the warm-up, before the timed window. */
  warmUpOperations: number;
  /** Event-loop busy time per request in the serving thread (the client runs in its own thread). */
  serverBusyUsPerOp: number;
  /** Share of the timed window the serving event loop was busy (1 = saturated). */
  serverLoopUtilization: number;
  /**
   * CPU time of the serving thread per request (NaN where the kernel does not tell). Unlike the loop's busy
   * time, it does not grow while the thread waits for a core, so it holds on a loaded machine.
   */
  serverCpuUsPerOp: number;
  /**
   * CPU time of the whole service process per request — every thread (the serving one, the projector's,
   * the garbage collector's) but the load generator's, whose own CPU is `clientCpuUsPerOp`.
   */
  serviceProcessCpuUsPerOp: number;
  /** CPU time of the load generator's thread per request (NaN where the kernel does not tell). */
  clientCpuUsPerOp: number;
  /** CPU time of every PostgreSQL process on the machine per request (NaN without /proc). */
  postgresCpuUsPerOp: number;
}

/** Nanoseconds this process's main thread has run on a CPU (Linux schedstat), or NaN. */
function mainThreadCpuNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Drives `concurrency` keep-alive connections at `origin` for `durationMs` (after `warmUpMs`) from a
 * worker thread, cycling through `requests`. The serving thread's cost is read from its event-loop
 * utilisation (process CPU would include the client thread).
 */
export async function httpLoad(
  origin: string,
  requests: LoadRequest[],
  { concurrency, durationMs, warmUpMs = 500 }: { concurrency: number; durationMs: number; warmUpMs?: number },
): Promise<HttpLoadResult> {
  const worker = new Worker(join(__dirname, 'httpLoadWorker.mjs'), {
    workerData: { origin, requests, concurrency, durationMs, warmUpMs },
  });
  let eluAtStart = performance.eventLoopUtilization();
  let cpuAtStart = mainThreadCpuNs();
  let processCpuAtStart = process.cpuUsage();
  let postgresAtStart = cpuSnapshot(POSTGRES);
  const result = await new Promise<{
    latencies: number[];
    failures: number;
    firstFailure: string | null;
    seconds: number;
    warmUpOperations: number;
    clientCpuNs: number;
  }>((resolve, reject) => {
    worker.on('message', (message: { phase: 'timed' | 'done' }) => {
      if (message.phase === 'timed') {
        eluAtStart = performance.eventLoopUtilization();
        cpuAtStart = mainThreadCpuNs();
        processCpuAtStart = process.cpuUsage();
        postgresAtStart = cpuSnapshot(POSTGRES);
      } else resolve(message as unknown as Parameters<typeof resolve>[0]);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`load worker exited with ${code}`)));
  });
  const elu = performance.eventLoopUtilization(eluAtStart);
  const cpuNs = mainThreadCpuNs() - cpuAtStart;
  const processCpu = process.cpuUsage(processCpuAtStart);
  const postgresSeconds = cpuSecondsBetween(postgresAtStart, cpuSnapshot(POSTGRES));
  await worker.terminate();
  const latencies = result.latencies.sort((a, b) => a - b);
  const operations = latencies.length;
  return {
    opsPerSecond: operations / result.seconds,
    operations,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    failures: result.failures,
    firstFailure: result.firstFailure,
    warmUpOperations: result.warmUpOperations,
    serverBusyUsPerOp: (elu.active * 1000) / Math.max(1, operations),
    serverLoopUtilization: elu.utilization,
    serverCpuUsPerOp: cpuNs / 1000 / Math.max(1, operations),
    serviceProcessCpuUsPerOp:
      (processCpu.user + processCpu.system - result.clientCpuNs / 1000) / Math.max(1, operations),
    clientCpuUsPerOp: result.clientCpuNs / 1000 / Math.max(1, operations),
    postgresCpuUsPerOp: (postgresSeconds * 1e6) / Math.max(1, operations),
  };
}
