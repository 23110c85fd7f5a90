import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/** What every event-store benchmark writes: one small event. */
export const benchPayload = {
  skill: 'llm_invoke',
  cost_cents: 5,
  drift_score: 0.12,
  details: { note: 'benchmark event' },
};

/**
 * Stream names of the measured writes: `bench-append<size>-<run>-<worker>` for appends and
 * `bench-insert<rows>-<run>-<worker>` for the raw INSERTs — the same length (so the same row and index-entry
 * sizes) and on the same side of the fill's `fill-<n>` streams in (stream_name, stream_version) order. With
 * `raw-…` against `append…`, after the fill every raw INSERT went to the rightmost leaf of that index
 * (btree's cached-rightmost-leaf fast path, no descent, 90/10 splits) while every append descended to a
 * leaf in the middle of it (50/50 splits): part of "the append falls as the log grows" was the baseline's.
 */
export const APPEND_STREAM_PREFIX = 'bench-append';
export const INSERT_STREAM_PREFIX = 'bench-insert';

/**
 * The baseline the benchmarks compare with: a plain INSERT into a table shaped like es_events — same
 * columns, defaults and the same five indexes (the type index too: es_events keeps it because readAll's
 * `types`, readNewer and the lag queries read through it, so an INSERT into a table "of the same shape"
 * maintains it as well; before issue 13 the baseline had four). The ratio isolates what the event store
 * adds: the stream-version look-up, the expectation, idempotency and the function call.
 *
 * The INSERT is an unnamed statement (node-postgres's default for a query with parameters) and serialises
 * its row's data per call, as an application would and as the append does; both as when the issue's
 * figures were measured.
 */
export async function createRawInsertBaseline(pool: pg.Pool) {
  await pool.query(`
    create table bench_raw (
      global_position bigint generated always as identity primary key,
      transaction_id xid8 not null default pg_current_xact_id(),
      event_id uuid not null unique, stream_name text not null, stream_version bigint not null,
      event_type text not null, data jsonb not null, metadata jsonb not null default '{}',
      recorded_at timestamptz not null default clock_timestamp(),
      unique (stream_name, stream_version));
    create index on bench_raw (transaction_id, global_position);
    create index on bench_raw (event_type, transaction_id, global_position);`);
  let run = 0;
  return {
    /** A fresh operation per measurement: each worker writes its own stream from version 1. */
    nextRun() {
      const prefix = `${INSERT_STREAM_PREFIX}1-${run++}`;
      return (worker: number, i: number) =>
        pool
          .query(
            `insert into bench_raw (event_id, stream_name, stream_version, event_type, data, metadata)
             values ($1, $2, $3, 'Benchmarked', $4, '{}')`,
            [randomUUID(), `${prefix}-${worker}`, i + 1, JSON.stringify(benchPayload)],
          )
          .then(() => undefined);
    },
    /** `rows` rows per statement, as one multi-row INSERT (VALUES list): the baseline of a batch append. */
    nextBatchRun(rows: number) {
      const prefix = `${INSERT_STREAM_PREFIX}${rows}-${run++}`;
      const text =
        'insert into bench_raw (event_id, stream_name, stream_version, event_type, data, metadata) values ' +
        Array.from(
          { length: rows },
          (_, k) =>
            `($${k * 4 + 1}::uuid, $${k * 4 + 2}, $${k * 4 + 3}::bigint, 'Benchmarked', $${k * 4 + 4}, '{}')`,
        ).join(', ');
      return (worker: number, i: number) => {
        const values: unknown[] = [];
        for (let k = 0; k < rows; k++)
          values.push(randomUUID(), `${prefix}-${worker}`, i * rows + k + 1, JSON.stringify(benchPayload));
        return pool.query(text, values).then(() => undefined);
      };
    },
  };
}

/**
 * Fills `table` (es_events or bench_raw: the same columns) with `count` events in one set-based INSERT,
 * spread over 1 000 streams and four types, then VACUUM ANALYZE: the "log already holds 1M events" condition.
 */
export async function fillEvents(pool: pg.Pool, table: 'es_events' | 'bench_raw', count: number) {
  await pool.query(
    `insert into ${table} (event_id, stream_name, stream_version, event_type, data)
     select gen_random_uuid(), 'fill-' || (g % 1000), g / 1000 + 1,
            (array['Benchmarked', 'ProvenanceRecorded', 'BreakerTripped', 'AlertRaised'])[g % 4 + 1], $1::jsonb
       from generate_series(0, $2::int - 1) g`,
    [JSON.stringify(benchPayload), count],
  );
  // VACUUM too: autovacuum would otherwise vacuum the fresh 1M rows of one table or the other in the middle
  // of a measurement (an insert-count trigger); the log is measured as it is between autovacuums.
  await pool.query(`vacuum (analyze) ${table}`);
}
