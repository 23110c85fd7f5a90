import type { Knex } from 'knex';

/**
 * es_append_with: one stream's events at an exact expected version AND companion events, each companion
 * stream new (its events get versions 1..n), in ONE statement — one round trip and one commit, all or
 * nothing. The sandbox's group commit (issue #7): a batch of drift observations on the breaker stream and
 * the batch's provenance records (one new stream each) used to be two appends, two commits.
 *
 * p_events and p_companions are JSON arrays — [{id, type, data, metadata}] and [{id, stream, type, data,
 * metadata}] — sent as one text each: node-postgres escapes every element of a jsonb[] parameter with two
 * regular-expression passes, ~25 µs of the event loop per 2 KB provenance record, against one JSON text
 * parsed by PostgreSQL.
 *
 * Errors: CS001 when the stream is not at p_expected (detail = actual version), even when p_events is empty
 * (the expectation proves the state a no-op was decided on). A concurrent writer that commits between the
 * version read and the insert makes the insert fail with unique_violation on es_events_stream_version_key,
 * as es_append's callers already handle. A companion stream that already exists fails the same way (its
 * version 1 is taken): companion streams are new v4 UUID streams, so that is a bug, not a race. Event ids
 * are fresh per call (no idempotent re-append here): the statement either stored everything or nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function es_append_with(p_stream text, p_expected bigint, p_events jsonb, p_companions jsonb)
    returns int
    language plpgsql as $fn$
    declare
      v_current bigint;
      v_main int := 0;
      v_companions int := 0;
    begin
      select e.stream_version into v_current from es_events e
       where e.stream_name = p_stream order by e.stream_version desc limit 1;
      v_current := coalesce(v_current, 0);
      if v_current <> p_expected then
        raise exception 'wrong expected version for stream %', p_stream
          using errcode = 'CS001', detail = v_current::text;
      end if;
      if jsonb_array_length(p_events) > 0 then
        insert into es_events (event_id, stream_name, stream_version, event_type, data, metadata)
        select (x->>'id')::uuid, p_stream, v_current + a.o, x->>'type', x->'data',
               coalesce(x->'metadata', '{}'::jsonb)
          from jsonb_array_elements(p_events) with ordinality as a(x, o)
         order by a.o;
        get diagnostics v_main = row_count;
      end if;
      if jsonb_array_length(p_companions) > 0 then
        insert into es_events (event_id, stream_name, stream_version, event_type, data, metadata)
        select (x->>'id')::uuid, x->>'stream',
               row_number() over (partition by x->>'stream' order by a.o), x->>'type', x->'data',
               coalesce(x->'metadata', '{}'::jsonb)
          from jsonb_array_elements(p_companions) with ordinality as a(x, o)
         order by a.o;
        get diagnostics v_companions = row_count;
      end if;
      return v_main + v_companions;
    end
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists es_append_with(text, bigint, jsonb, jsonb)');
}
