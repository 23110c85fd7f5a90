import { createHash, randomUUID } from 'node:crypto';
import { ProvenanceWriter } from '../src/commands/provenance/provenanceWriter';
import type { NewProvenanceRecord } from '../src/commands/provenance/provenanceWriter';
import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { provenanceProjection } from '../src/projections/provenance/provenanceProjection';
import { Projector } from '../src/projections/runtime/projector';
import { type Figure, createBenchDatabase, figure, measureThroughput, printFigures } from './harness';

/**
 * Provenance writes (docs/domain.md §5) through the event store, batch by batch as POST /costsim/provenance
 * does them (one append per batch, its own stream), and the projection catching up into `provenance`.
 * Baseline in the same run: the same records as plain multi-row INSERTs into a table shaped like
 * `provenance` (same columns and indexes) — what a non-event-sourced service would do. Every record must
 * reach the projection (counted).
 */
const BENCH = 'provenance';
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const BATCH = 1000;
const CONCURRENCY = 4;

const record = (i: number): NewProvenanceRecord => ({
  run_id: `run-${i % 97}`,
  tenant_id: null,
  variant_slug: 'v2',
  source: 'sandbox',
  model_version: '2.0.0',
  adapter_version: '2.0.0',
  commit_sha: 'bench',
  input_hash: createHash('sha256').update(`in-${i}`).digest('hex'),
  output_hash: createHash('sha256').update(`out-${i}`).digest('hex'),
  v1_cost: 5,
  v2_cost: 4,
  drift_score: 0.12,
  verdict: 'minor_drift',
  payload: { input: { plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }] } },
  runtime_ms: 0.4,
});

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(16);
  const store = new PostgresEventStore(db.pool);
  const writer = new ProvenanceWriter(store);
  const figures: Figure[] = [];
  try {
    await db.pool.query(`create table bench_provenance (like provenance including all)`);
    const batch = (offset: number) => Array.from({ length: BATCH }, (_, i) => record(offset + i));
    let n = 0;
    const raw = await measureThroughput(CONCURRENCY, DURATION_MS, async () => {
      const rows = batch((n += BATCH)).map((r) => ({
        ...r,
        id: randomUUID(),
        created_at: new Date().toISOString(),
      }));
      await db.pool.query(
        `insert into bench_provenance (id, run_id, tenant_id, variant_slug, source, model_version, adapter_version,
                                       commit_sha, input_hash, output_hash, v1_cost, v2_cost, cost_delta,
                                       drift_score, verdict, payload, runtime_ms, created_at)
         select r.id, r.run_id, r.tenant_id, r.variant_slug, r.source, r.model_version, r.adapter_version,
                r.commit_sha, r.input_hash, r.output_hash, r.v1_cost, r.v2_cost, r.v2_cost - r.v1_cost,
                r.drift_score, r.verdict, r.payload, r.runtime_ms, r.created_at
           from jsonb_to_recordset($1::jsonb) as r(id uuid, run_id text, tenant_id text, variant_slug text,
             source text, model_version text, adapter_version text, commit_sha text, input_hash text,
             output_hash text, v1_cost float8, v2_cost float8, drift_score float8, verdict text, payload jsonb,
             runtime_ms float8, created_at timestamptz)`,
        [JSON.stringify(rows)],
      );
    });
    const written = await measureThroughput(CONCURRENCY, DURATION_MS, async () => {
      await writer.write(batch((n += BATCH)));
    });
    const records = written.operations * BATCH;

    // The projection from a standing start: how fast the read model catches up with all of it.
    const projector = new Projector({
      pool: db.pool,
      store,
      connectionString: db.url,
      projections: [provenanceProjection],
      lockId: 7010,
      batchSize: 5000,
      pollMs: 20,
    });
    const started = performance.now();
    projector.start();
    try {
      for (const deadline = Date.now() + 300_000; ;) {
        const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from provenance');
        if (rows[0]!.n === records) break;
        if (Date.now() > deadline) throw new Error(`projection reached ${rows[0]!.n} of ${records} records`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await projector.stop();
    }
    const projectSeconds = (performance.now() - started) / 1000;
    figures.push(
      figure(BENCH, 'raw_insert_batches_1000', raw.opsPerSecond * BATCH, 'records/s'),
      figure(
        BENCH,
        'writes_batches_1000',
        written.opsPerSecond * BATCH,
        'records/s',
        raw.opsPerSecond * BATCH,
      ),
      figure(BENCH, 'write_batch_p99', written.p99Ms, 'ms'),
      figure(BENCH, 'projection_catch_up', records / projectSeconds, 'records/s', raw.opsPerSecond * BATCH),
      figure(BENCH, 'records_written_and_projected', records, 'records'),
    );
  } finally {
    await db.drop();
  }
  return figures;
}

if (require.main === module) {
  run().then(printFigures, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
