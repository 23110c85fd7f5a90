import type { Knex } from 'knex';

/**
 * The append path at the cost of a plain INSERT (issue 13, point 3). Measured before: es_append cost
 * 41–43 µs inside PostgreSQL against 10–11 µs for a raw INSERT, and appends fell 20 % as the log grew to
 * 1M events. What it paid for, and what replaces it:
 *
 *  - One JSON document per append, parsed whole and then taken apart again (`x->'data'` copies each
 *    payload): the events now arrive as parallel arrays (ids, types, payloads, metadata), each payload
 *    parsed once, as a raw INSERT parses it.
 *  - An idempotency look-up of every event id on every append: the insert itself is the check now
 *    (`on conflict (event_id) do nothing`, which the unique index answers anyway). Only an append that
 *    wrote fewer rows than it carried, or whose expectation failed, looks up the stored events — a retry
 *    of a stored append still returns the stored result, whatever its expectation says now.
 *  - A fifth index: no query reads es_events by global_position alone (every reader orders by
 *    (transaction_id, global_position), es_events_commit_order), so its primary-key index went; event_id,
 *    which every append checks anyway, is the primary key instead (same constraint name, so error
 *    mapping and `on conflict (event_id)` are unchanged). The four left are each used by a query:
 *      es_events_event_id_key        — the idempotency conflict, dead-letter and stored-result look-ups;
 *      es_events_stream_version_key  — readStream, the stream's version, the concurrency control;
 *      es_events_commit_order        — readAll, the projector's head, lag, rebuild's pending count;
 *      es_events_type_commit_order   — typed readAll, readNewer (the V2 gate), rebuild and lag by type.
 *
 * The one-document form `es_append(text, text, bigint, jsonb)` stays (the dead-letter actions and tests
 * call it from SQL) as a thin wrapper that unpacks the document into the arrays, so both take one path.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table es_events
      drop constraint es_events_pkey,
      drop constraint es_events_event_id_key,
      add constraint es_events_event_id_key primary key (event_id);

    -- Events in stream order; p_metadata may be null (every event's metadata {}), or hold nulls.
    -- The usual append is this one statement: the stream's version (one backward step on
    -- es_events_stream_version_key), the expectation as a filter, the insert. Whatever did not go that way
    -- (an expectation that failed, an id already stored) is sorted out by es_append_resolve.
    create function es_append(
      p_stream text, p_expected_kind text, p_expected bigint,
      p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[]
    )
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql
    as $fn$
    declare
      v_written int;
    begin
      -- A concurrent append that read the same version blocks on es_events_stream_version_key until this
      -- one commits, then fails with unique_violation: the caller maps that to a version conflict (or, for
      -- 'any', simply tries again). A concurrent append of the same event id waits likewise, then writes
      -- nothing here and takes the stored-result path.
      return query
        with cur as (
          select coalesce(max(c.stream_version), 0) as v from es_events c where c.stream_name = p_stream)
        insert into es_events as e (event_id, stream_name, stream_version, event_type, data, metadata)
        select u.id, p_stream, cur.v + u.ord, u.type, u.data, coalesce(u.metadata, '{}'::jsonb)
          from cur, unnest(p_ids, p_types, p_data, p_metadata) with ordinality as u(id, type, data, metadata, ord)
         where p_expected_kind = 'any'
            or (p_expected_kind = 'no_stream' and cur.v = 0)
            or (p_expected_kind = 'stream_exists' and cur.v > 0)
            or (p_expected_kind = 'exact' and cur.v = p_expected)
        on conflict (event_id) do nothing
        returning e.stream_version, e.global_position, e.transaction_id, e.recorded_at, false;
      get diagnostics v_written = row_count;
      if v_written = coalesce(cardinality(p_ids), 0) then
        return;
      end if;
      return query select * from es_append_resolve(p_stream, p_expected_kind, p_expected, p_ids, v_written);
    end
    $fn$;

    -- Only after an append wrote fewer rows than it carried: returns the stored result of a retried append
    -- (all its ids, in this stream — whatever its expectation says now) or raises the right error.
    create function es_append_resolve(
      p_stream text, p_expected_kind text, p_expected bigint, p_ids uuid[], p_written int
    )
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql
    -- Rarely run, so its cached generic plans may date from a tiny table: they must still use the indexes
    -- (see 003_es_append_index_plans).
    set enable_seqscan = off
    as $fn$
    begin
      if p_written > 0 then
        -- Raising rolls back the rows written with the rest of the append's statement.
        raise exception 'events of this append are already stored elsewhere or in part'
          using errcode = 'CS002';
      end if;
      if (select count(*) from es_events e where e.event_id = any(p_ids) and e.stream_name = p_stream)
         = cardinality(p_ids) then
        return query
          select e.stream_version, e.global_position, e.transaction_id, e.recorded_at, true
            from unnest(p_ids) with ordinality as u(id, ord)
            join es_events e on e.event_id = u.id
           order by u.ord;
        return;
      end if;
      if exists (select 1 from es_events e where e.event_id = any(p_ids)) then
        raise exception 'events of this append are already stored elsewhere or in part'
          using errcode = 'CS002';
      end if;
      raise exception 'wrong expected version for stream %', p_stream
        using errcode = 'CS001',
              detail = (select coalesce(max(e.stream_version), 0) from es_events e where e.stream_name = p_stream)::text;
    end
    $fn$;

    -- The one-document form, for callers in SQL: p_events is [{id, type, data, metadata}] in stream order.
    -- PL/pgSQL rather than SQL: its plan is cached per connection.
    create or replace function es_append(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb)
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql
    as $fn$
    begin
      return query
        select a.*
          from (select array_agg((x->>'id')::uuid order by o) as ids, array_agg(x->>'type' order by o) as types,
                       array_agg(x->'data' order by o) as data, array_agg(x->'metadata' order by o) as metadata
                  from jsonb_array_elements(p_events) with ordinality as t(x, o)) p
          cross join lateral es_append(p_stream, p_expected_kind, p_expected, p.ids, p.types, p.data, p.metadata) a;
    end
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function if exists es_append(text, text, bigint, uuid[], text[], jsonb[], jsonb[]);
    drop function if exists es_append_resolve(text, text, bigint, uuid[], int);
    alter table es_events
      drop constraint es_events_event_id_key,
      add constraint es_events_event_id_key unique (event_id),
      add constraint es_events_pkey primary key (global_position);

    -- 001's body, with 003's setting.
    create or replace function es_append(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb)
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql set enable_seqscan = off as $fn$
    declare
      n int := jsonb_array_length(p_events);
      v_ids uuid[];
      v_found int;
      v_current bigint;
    begin
      select array_agg((x->>'id')::uuid) into v_ids from jsonb_array_elements(p_events) x;
      select count(*) into v_found from es_events e where e.event_id = any(v_ids);
      if v_found > 0 then
        if v_found = n and not exists (
          select 1 from es_events e where e.event_id = any(v_ids) and e.stream_name <> p_stream
        ) then
          return query
            select e.stream_version, e.global_position, e.transaction_id, e.recorded_at, true
            from unnest(v_ids) with ordinality as u(id, ord)
            join es_events e on e.event_id = u.id
            order by u.ord;
          return;
        end if;
        raise exception 'events of this append are already stored elsewhere or in part'
          using errcode = 'CS002';
      end if;
      select coalesce(max(e.stream_version), 0) into v_current from es_events e where e.stream_name = p_stream;
      if not (
        p_expected_kind = 'any'
        or (p_expected_kind = 'no_stream' and v_current = 0)
        or (p_expected_kind = 'stream_exists' and v_current > 0)
        or (p_expected_kind = 'exact' and v_current = p_expected)
      ) then
        raise exception 'wrong expected version for stream %', p_stream
          using errcode = 'CS001', detail = v_current::text;
      end if;
      return query
        insert into es_events as e (event_id, stream_name, stream_version, event_type, data, metadata)
        select (x->>'id')::uuid, p_stream, v_current + u.ord, x->>'type', x->'data',
               coalesce(x->'metadata', '{}'::jsonb)
        from jsonb_array_elements(p_events) with ordinality as u(x, ord)
        order by u.ord
        returning e.stream_version, e.global_position, e.transaction_id, e.recorded_at, false;
    end
    $fn$;
  `);
}
