import { randomUUID } from 'node:crypto';
import { CanaryRunner } from '../src/commands/canary/canaryRunner';
import { goldenInputs, recentSandboxInputs } from '../src/commands/canary/canarySamples';
import { loadDatasetCatalog } from '../src/commands/canary/datasetCatalog';
import { BuiltinV2Engine } from '../src/commands/simulation/builtinV2Engine';
import { compareResults } from '../src/domain/simulation/comparison';
import { simulateV1 } from '../src/domain/simulation/v1Simulator';
import { simulateV2 } from '../src/domain/simulation/v2Simulator';
import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { type Figure, createBenchDatabase, figure } from './harness';
import { samplePlans } from './samplePlans';

/**
 * One canary run (CanaryRunner.run: read 10 000 recent sandbox inputs from provenance, V1 + V2 + compare
 * each, plus the five golden datasets with their validation, judge, CanaryRunStarted/Completed appended)
 * against the compute limit measured in the same process: the same V1 + V2 + comparison work over the same
 * inputs in a plain loop (no database, no events, no async). Target: >= 0.5 x that limit.
 */
const BENCH = 'canary';
const SAMPLES = 10_000;
const RUNS = 5;
const bounds = { warning: 0.15, drift: 0.2 };
const versions = { modelVersion: '2.0.0', adapterVersion: '2.0.0', commitSha: 'bench' };

const plans = [
  ...samplePlans,
  { plan: [{ skill: 'email_send', params: { to: 'a@example.com' }, iterations: 3 }], budget_cents: 50 },
];

const TARGET = 0.5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(8);
  try {
    // 10 000 sandbox pairs in the read model (written directly: the bench times the canary, not ingest)
    const now = Date.now();
    const rows = Array.from({ length: SAMPLES }, (_, i) => ({
      id: randomUUID(),
      input: plans[i % plans.length],
      created_at: new Date(now - i * 1000).toISOString(),
    }));
    await db.pool.query(
      `insert into provenance (id, variant_slug, source, input_hash, v1_cost, v2_cost, cost_delta, drift_score,
                               verdict, payload, created_at)
       select r.id, 'v2', 'sandbox', md5(r.id::text), 1, 1, 0, 0, 'match', jsonb_build_object('input', r.input),
              r.created_at
         from jsonb_to_recordset($1::jsonb) as r(id uuid, input jsonb, created_at timestamptz)`,
      [JSON.stringify(rows)],
    );
    // A table that filled up over time has statistics (autovacuum analyzes it); one loaded a moment ago has
    // none, and the planner, expecting a few rows, sorts every sandbox row for each page instead of
    // walking the (created_at, id) index. The bench times the canary on a table in its steady state.
    await db.pool.query('analyze provenance');
    const catalog = loadDatasetCatalog(undefined);
    const engine = new BuiltinV2Engine(versions);
    const runner = new CanaryRunner({
      pool: db.pool,
      store: new PostgresEventStore(db.pool),
      engine,
      datasets: () => catalog.datasets,
      bounds,
      thresholds: { kl_divergence: 0.2, outlier_ratio: 0.05, major_ratio: 0.1, paired_alpha: null },
      maxRuntimeMs: 300_000,
      instanceId: 'bench',
    });

    // The compute limit: the same inputs (read once, untimed), V1 + V2 + compare in a plain loop.
    const { inputs } = await recentSandboxInputs(db.pool, SAMPLES);
    const all = [...inputs, ...[...catalog.datasets.values()].flatMap(goldenInputs)];
    const plainLoop = () => {
      const started = performance.now();
      let drift = 0;
      for (const { input } of all) {
        const v1 = simulateV1(input);
        const v2 = simulateV2(input, { ...versions, runtimeMs: 0 });
        drift += compareResults(v1, v2, bounds).drift;
      }
      if (!Number.isFinite(drift)) throw new Error('unreachable');
      return all.length / ((performance.now() - started) / 1000);
    };

    plainLoop(); // warm-up of both paths
    await runner.run({ sampleCount: SAMPLES, datasetIds: null, trigger: 'manual' });
    const canaryRates: number[] = [];
    const limitRates: number[] = [];
    let samples = 0;
    for (let i = 0; i < RUNS; i++) {
      limitRates.push(plainLoop());
      const started = performance.now();
      const report = await runner.run({ sampleCount: SAMPLES, datasetIds: null, trigger: 'manual' });
      const seconds = (performance.now() - started) / 1000;
      if (report.sources.provenance_samples !== SAMPLES) {
        throw new Error(`canary sampled ${report.sources.provenance_samples}, not ${SAMPLES}`);
      }
      samples = report.total_samples;
      canaryRates.push(samples / seconds);
    }
    const canary = median(canaryRates);
    const limit = median(limitRates);
    const ratio = canary / limit;
    console.log(
      `[bench ${BENCH}] runs ${canaryRates.map((r) => r.toFixed(0)).join(', ')} samples/s; limits ` +
        `${limitRates.map((r) => r.toFixed(0)).join(', ')} samples/s`,
    );
    console.log(
      `[bench ${BENCH}] one run ${canary.toFixed(0)} samples/s, compute limit ${limit.toFixed(0)} samples/s, ` +
        `ratio ${ratio.toFixed(3)} (target >= ${TARGET}) ${ratio >= TARGET ? 'OK' : 'MISSED'}`,
    );
    return [
      figure(
        BENCH,
        `one run over ${samples} samples (10 000 provenance + datasets), median of ${RUNS}`,
        canary,
        'samples/s',
        limit,
      ),
      figure(BENCH, 'compute limit: V1 + V2 + compare in a plain loop', limit, 'samples/s'),
      figure(BENCH, 'run duration', samples / canary, 's'),
    ];
  } finally {
    await db.drop();
  }
}
