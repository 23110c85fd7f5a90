import { createHash, randomUUID } from 'node:crypto';
import { ProvenanceWriter } from '../src/commands/provenance/provenanceWriter';
import type { NewProvenanceRecord } from '../src/commands/provenance/provenanceWriter';
import { loadConfig } from '../src/infra/config/config';
import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { provenanceProjection } from '../src/projections/provenance/provenanceProjection';
import { Projector } from '../src/projections/runtime/projector';
import { type Figure, createBenchDatabase, figure, measureThroughput, printFigures } from './harness';
import { liveFeed } from './provenanceLive';

/**
 * Provenance writes (docs/domain.md §5) through the event store, batch by batch as POST /costsim/provenance
 * does them (one append per batch, its own stream), and the projection catching up into `provenance`.
 * Baselines in the same run:
 *  - for the writes: the same records as plain multi-row INSERTs into a table shaped like `provenance`
 *    (same columns and indexes) — what a non-event-sourced service would do;
 *  - for the projection (issue #13): the database's own limit for the same work, one `INSERT … SELECT`
 *    of every stored record from the event rows into a copy of `provenance` (same indexes), run before and
 *    after the projection (the faster counts). The projection runs with serve's configuration (its batch
 *    sizes, bytes and window, from the environment as serve reads it; the line printed says which).
 *    Target >= 0.6 x.
 * Then bench/provenanceLive.ts: a real `serve` fed at its full accepted rate for 60 s, lag printed every
 * second. Every record must reach the projection (counted).
 */
const BENCH = 'provenance';
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const BATCH = 1000;
const CONCURRENCY = 4;

export const benchRecord = (i: number): NewProvenanceRecord => ({
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

/** The database's limit for the projection's work: every stored record into `table` by one INSERT … SELECT. */
const INSERT_SELECT = (table: string) => `
  insert into ${table} (id, run_id, tenant_id, variant_slug, source, model_version, adapter_version, commit_sha,
                        input_hash, output_hash, v1_cost, v2_cost, cost_delta, drift_score, verdict, payload,
                        runtime_ms, created_at)
  select r.id, r.run_id, r.tenant_id, r.variant_slug, r.source, r.model_version, r.adapter_version, r.commit_sha,
         r.input_hash, r.output_hash, r.v1_cost, r.v2_cost, r.cost_delta, r.drift_score, r.verdict,
         coalesce(r.payload, '{}'::jsonb), r.runtime_ms, r.created_at
    from es_events e cross join lateral jsonb_to_record(e.data) as r(id uuid, run_id text, tenant_id text,
         variant_slug text, source text, model_version text, adapter_version text, commit_sha text,
         input_hash text, output_hash text, v1_cost float8, v2_cost float8, cost_delta float8,
         drift_score float8, verdict text, payload jsonb, runtime_ms float8, created_at timestamptz)
   where e.event_type = 'ProvenanceRecorded'
   order by e.transaction_id, e.global_position
  on conflict (id) do nothing`;

export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  await catchUp(figures);
  await liveFeed(figures);
  // Attribution (BENCH_PROVENANCE_SPLIT=1): the same feed with the projector on a replica of its own.
  if (process.env.BENCH_PROVENANCE_SPLIT === '1') await liveFeed(figures, { split: true });
  return figures;
}

async function catchUp(figures: Figure[]): Promise<void> {
  const db = await createBenchDatabase(16);
  const store = new PostgresEventStore(db.pool);
  const writer = new ProvenanceWriter(store);
  try {
    await db.pool.query(`create table bench_provenance (like provenance including all)`);
    const batch = (offset: number) => Array.from({ length: BATCH }, (_, i) => benchRecord(offset + i));
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
    await db.pool.query('vacuum analyze es_events');

    const insertSelect = async (table: string) => {
      await db.pool.query(`create table ${table} (like provenance including all)`);
      const t = performance.now();
      const { rowCount } = await db.pool.query(INSERT_SELECT(table));
      if (rowCount !== records) throw new Error(`INSERT … SELECT stored ${rowCount} of ${records} records`);
      return records / ((performance.now() - t) / 1000);
    };
    const before = await insertSelect('bench_provenance_set_before');

    // The projection from a standing start, configured as serve configures it: from this process's
    // environment, as serve reads its own (loadConfig({}) would measure the defaults whatever
    // PROJECTOR_RANGE_BATCH_SIZE & co. say, and the live feed's serve, which does read them, would differ).
    const { projector: serve } = loadConfig(process.env);
    const fromEnv = (name: string) => (process.env[name] !== undefined ? ' (env)' : ' (default)');
    const { rows: last } = await db.pool.query<{ tx: string; pos: string }>(
      `select transaction_id::text as tx, global_position as pos from es_events
        where event_type = 'ProvenanceRecorded' order by transaction_id desc, global_position desc limit 1`,
    );
    let projectSeconds = 0;
    const projector = new Projector({
      pool: db.pool,
      store,
      connectionString: db.url,
      projections: [provenanceProjection],
      lockId: 7010,
      batchSize: serve.batchSize,
      rangeBatchSize: serve.rangeBatchSize,
      batchMaxBytes: serve.batchMaxBytes,
      batchWindowMs: serve.batchWindowMs,
      pollMs: serve.pollMs,
      retry: serve.retry,
    });
    projector.start();
    try {
      // Timed from leadership on (the lock, as serve takes it at start-up, is not the projection's work).
      while (!projector.isLeader) await new Promise((r) => setTimeout(r, 1));
      const started = performance.now();
      // The checkpoint, not count(*): polling a count every 20 ms would take a core from what is measured.
      for (const deadline = Date.now() + 300_000; ;) {
        const { rows } = await db.pool.query<{ done: boolean }>(
          `select (transaction_id, global_position) >= ($1::xid8, $2::bigint) as done
             from projection_checkpoints where name = 'provenance'`,
          [last[0]!.tx, last[0]!.pos],
        );
        if (rows[0]?.done) break;
        if (Date.now() > deadline) throw new Error('the projection did not catch up within 300 s');
        await new Promise((r) => setTimeout(r, 10));
      }
      projectSeconds = (performance.now() - started) / 1000;
    } finally {
      await projector.stop();
    }
    const projected = records / projectSeconds;
    const { rows: counted } = await db.pool.query<{ n: number }>('select count(*)::int as n from provenance');
    if (counted[0]!.n !== records) throw new Error(`projection holds ${counted[0]!.n} of ${records} records`);
    const after = await insertSelect('bench_provenance_set_after');
    const limit = Math.max(before, after);
    console.log(
      `provenance catch-up of ${records} records, serve's configuration (batch ${serve.rangeBatchSize} events` +
        `${fromEnv('PROJECTOR_RANGE_BATCH_SIZE')} / ${serve.batchMaxBytes} bytes${fromEnv('PROJECTOR_BATCH_MAX_BYTES')}, ` +
        `window ${serve.batchWindowMs} ms${fromEnv('PROJECTOR_BATCH_WINDOW_MS')}): ${projected.toFixed(0)} records/s; ` +
        `INSERT … SELECT ${before.toFixed(0)} before, ${after.toFixed(0)} after: ${(projected / limit).toFixed(2)} x`,
    );
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
      figure(BENCH, 'projection_catch_up', projected, 'records/s', raw.opsPerSecond * BATCH),
      figure(BENCH, 'insert_select_before', before, 'records/s'),
      figure(BENCH, 'insert_select_after', after, 'records/s'),
      figure(BENCH, 'projection_catch_up_vs_insert_select', projected, 'records/s', limit),
      figure(BENCH, 'records_written_and_projected', records, 'records'),
      figure(BENCH, 'projection_range_batch_size', serve.rangeBatchSize, 'events'),
    );
  } finally {
    await db.drop();
  }
}

if (require.main === module) {
  run().then(printFigures, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
