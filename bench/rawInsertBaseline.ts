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
 * The baseline the benchmarks compare with: a plain single-row INSERT into a table shaped like es_events
 * (same columns, defaults and indexes), so the ratio isolates what the event store adds.
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
    create index on bench_raw (transaction_id, global_position);`);
  let run = 0;
  return {
    /** A fresh operation per measurement: each worker writes its own stream from version 1. */
    nextRun() {
      const prefix = `raw-${run++}`;
      return (worker: number, i: number) =>
        pool
          .query(
            `insert into bench_raw (event_id, stream_name, stream_version, event_type, data, metadata)
             values ($1, $2, $3, 'Benchmarked', $4, '{}')`,
            [randomUUID(), `${prefix}-${worker}`, i + 1, JSON.stringify(benchPayload)],
          )
          .then(() => undefined);
    },
  };
}
