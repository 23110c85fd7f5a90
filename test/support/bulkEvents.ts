import type pg from 'pg';

/**
 * A large, valid history written straight into es_events with a few INSERT … SELECT statements (100 000
 * events in seconds, not 100 000 requests): drift observations on `breakers` tenant breakers of
 * costsim_v2 (`perBreaker` each, below threshold, so nothing trips) and `provenance` v1 records in streams
 * of 1 000. Every event is one the projections apply as they would the service's own.
 */
export async function insertBulkHistory(
  pool: pg.Pool,
  { breakers, perBreaker, provenance }: { breakers: number; perBreaker: number; provenance: number },
): Promise<number> {
  await pool.query(
    `insert into es_events (event_id, stream_name, stream_version, event_type, data)
     select gen_random_uuid(), 'breaker-costsim_v2@bulk-' || b, v, 'DriftObserved',
            jsonb_build_object(
              'actor', 'bulk', 'at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'drift_score', 0.05, 'threshold', 0.2, 'failure_threshold', 3, 'sample_count', 10,
              'details', '{}'::jsonb, 'exceeded', false, 'counted', true, 'failures_before', 0,
              'failures_after', 0, 'breaker_open', false)
       from generate_series(1, $1::int) b, generate_series(1, $2::int) v
      order by b, v`,
    [breakers, perBreaker],
  );
  await pool.query(
    `insert into es_events (event_id, stream_name, stream_version, event_type, data)
     select r.id, 'provenance-bulk-' || (r.i / 1000), r.i % 1000 + 1, 'ProvenanceRecorded',
            jsonb_build_object(
              'id', r.id, 'run_id', 'bulk-' || r.i, 'tenant_id', 'bulk', 'variant_slug', 'v1', 'source', 'backfill',
              'model_version', null, 'adapter_version', null, 'commit_sha', null,
              'input_hash', md5(r.i::text) || md5(r.i::text), 'output_hash', null, 'v1_cost', r.i % 97,
              'v2_cost', null, 'cost_delta', null, 'drift_score', null, 'verdict', null,
              'payload', jsonb_build_object('i', r.i), 'runtime_ms', null,
              'created_at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
       from (select gen_random_uuid() as id, i from generate_series(0, $1::int - 1) i) r
      order by r.i`,
    [provenance],
  );
  return breakers * perBreaker + provenance;
}
