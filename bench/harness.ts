import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateLatest } from '../src/infra/postgres/migrate';
import { createPool } from '../src/infra/postgres/pool';

export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

export interface Throughput {
  opsPerSecond: number;
  operations: number;
  p50Ms: number;
  p99Ms: number;
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor(p * sortedMs.length))]!;
}

/** Runs `op` from `concurrency` loops for `durationMs`; every loop gets its own index. */
export async function measureThroughput(
  concurrency: number,
  durationMs: number,
  op: (worker: number, i: number) => Promise<void>,
): Promise<Throughput> {
  const latencies: number[] = [];
  const deadline = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const t = performance.now();
        await op(worker, i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: latencies.length / elapsed,
    operations: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

export function figure(
  bench: string,
  metric: string,
  value: number,
  unit: string,
  baseline?: number,
): Figure {
  return {
    bench,
    metric,
    value: round(value),
    unit,
    ...(baseline !== undefined ? { baseline: round(baseline), ratio: round(value / baseline) } : {}),
  };
}

/** A human-readable table, then one JSON object per figure on its own line. */
export function printFigures(figures: Figure[]): void {
  console.table(
    figures.map((f) => ({
      metric: f.metric,
      value: f.value,
      unit: f.unit,
      baseline: f.baseline ?? '',
      ratio: f.ratio ?? '',
    })),
  );
  for (const f of figures) process.stdout.write(`${JSON.stringify(f)}\n`);
}

export function benchAdminUrl(): string {
  return (
    process.env.BENCH_DATABASE_URL ??
    process.env.TEST_DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/postgres'
  );
}

export interface BenchDatabase {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one benchmark run. */
export async function createBenchDatabase(poolSize = 20): Promise<BenchDatabase> {
  const name = `costsim_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: benchAdminUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(benchAdminUrl());
  url.pathname = `/${name}`;
  await migrateLatest(url.toString());
  const pool = createPool(url.toString(), { max: poolSize, applicationName: 'costsim-bench' });
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: benchAdminUrl() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
