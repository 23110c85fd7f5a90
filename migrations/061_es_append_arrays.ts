import type { Knex } from 'knex';

/**
 * es_append with the events as arrays (ids, types, data, metadata), and idempotency checked only when an
 * event id is already stored (issue 13).
 *
 * The jsonb version (001) cost 41–43 µs inside PostgreSQL against 10–11 µs for a plain INSERT: the JSON
 * document was taken apart twice, every append looked its ids up before inserting (for a retry that almost
 * never happens), then looked the stream's version up. Now:
 *  - the version is one backward step on es_events_stream_version_key (the stream's last row);
 *  - the INSERT takes `ON CONFLICT (event_id) DO NOTHING`, so the unique index it maintains anyway is the
 *    idempotency check; only when fewer rows come back than were given, or the expectation fails, are the
 *    stored ids looked up: all stored in this stream is the idempotent re-append (the stored result,
 *    already_stored, whatever the expectation, as before), some or elsewhere is CS002 — and raising rolls
 *    back the rows this call did insert, so a partial batch is never stored;
 *  - the rules are the same: CS001 (wrong expected version, detail = actual version), CS002, and a lost race
 *    on es_events_stream_version_key is still unique_violation (the concurrency control).
 * The JSON version stays, as a thin wrapper over this one (direct SQL callers and tests use it), so there is
 * one implementation of the rules. es_append_in_tx gets the array form too (same body as 060's).
 *
 * No `SET enable_seqscan = off` (003) on the new function: a SET clause is saved and restored around every
 * call, and neither statement needs it — the ON CONFLICT check is an index probe by construction, and the
 * version look-up is `order by stream_version desc limit 1` on the unique index, which the planner takes
 * even for an empty, never-analysed table; the rare-path look-ups are planned per call (EXECUTE)
 * (test/integration/eventStore/appendPlansFilled.test.ts checks every
 * plan with auto_explain, before and after filling and analysing; appendPlans.test.ts counts seq scans).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function es_append(p_stream text, p_expected_kind text, p_expected bigint,
                              p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[])
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql as $fn$
    declare
      n int := coalesce(cardinality(p_ids), 0);
      v_current bigint;
      v_rows int;
      v_stored boolean;
    begin
      select e.stream_version into v_current from es_events e
       where e.stream_name = p_stream order by e.stream_version desc limit 1;
      v_current := coalesce(v_current, 0);

      if p_expected_kind = 'any'
         or (p_expected_kind = 'no_stream' and v_current = 0)
         or (p_expected_kind = 'stream_exists' and v_current > 0)
         or (p_expected_kind = 'exact' and v_current = p_expected) then
        -- A concurrent append that read the same version blocks on es_events_stream_version_key until the
        -- other commits, then fails with unique_violation: the caller retries ('any') or reports a conflict.
        if n = 1 then
          -- Most appends are one event: a VALUES row costs less than unnest, ordinality and a sort.
          return query
            insert into es_events as e (event_id, stream_name, stream_version, event_type, data, metadata)
            values (p_ids[1], p_stream, v_current + 1, p_types[1], p_data[1],
                    coalesce(p_metadata[1], '{}'::jsonb))
            on conflict (event_id) do nothing
            returning e.stream_version, e.global_position, e.transaction_id, e.recorded_at, false;
        else
          return query
            insert into es_events as e (event_id, stream_name, stream_version, event_type, data, metadata)
            select u.id, p_stream, v_current + u.ord, u.type, u.data, coalesce(u.metadata, '{}'::jsonb)
              from unnest(p_ids, p_types, p_data, p_metadata) with ordinality as u(id, type, data, metadata, ord)
             order by u.ord
            on conflict (event_id) do nothing
            returning e.stream_version, e.global_position, e.transaction_id, e.recorded_at, false;
        end if;
        get diagnostics v_rows = row_count;
        if v_rows = n then
          return;
        elsif v_rows > 0 then
          raise exception 'events of this append are already stored elsewhere or in part'
            using errcode = 'CS002';
        end if;
      end if;

      -- Nothing inserted: either the expectation failed or every id is already stored. A re-append of
      -- stored ids returns the stored result whatever the expectation says now. Rare, so planned for
      -- each call (EXECUTE): a plan cached while es_events was small would be kept as it grows.
      return query execute
        'select e.stream_version, e.global_position, e.transaction_id, e.recorded_at, true
           from unnest($1) with ordinality as u(id, ord)
           join es_events e on e.event_id = u.id
          where e.stream_name = $2
          order by u.ord' using p_ids, p_stream;
      get diagnostics v_rows = row_count;
      if v_rows = n then
        return;
      end if;
      execute 'select exists (select 1 from es_events e where e.event_id = any($1))' into v_stored
        using p_ids;
      if v_rows > 0 or v_stored then
        raise exception 'events of this append are already stored elsewhere or in part'
          using errcode = 'CS002';
      end if;
      raise exception 'wrong expected version for stream %', p_stream
        using errcode = 'CS001', detail = v_current::text;
    end
    $fn$;

    -- p_events: [{id, type, data, metadata}] in stream order, as before.
    create or replace function es_append(p_stream text, p_expected_kind text, p_expected bigint,
                                         p_events jsonb)
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql as $fn$
    declare
      v_ids uuid[];
      v_types text[];
      v_data jsonb[];
      v_metadata jsonb[];
    begin
      select coalesce(array_agg((x->>'id')::uuid order by o), '{}'), array_agg(x->>'type' order by o),
             array_agg(x->'data' order by o), array_agg(x->'metadata' order by o)
        into v_ids, v_types, v_data, v_metadata
        from jsonb_array_elements(p_events) with ordinality as a(x, o);
      return query select * from es_append(p_stream, p_expected_kind, p_expected, v_ids, v_types, v_data,
                                           v_metadata);
    end
    $fn$;
    alter function es_append(text, text, bigint, jsonb) reset enable_seqscan;

    create function es_append_in_tx(p_stream text, p_expected_kind text, p_expected bigint,
                                    p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[],
                                    p_channel text, p_wakeup text)
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean, error_state text, error_message text, error_detail text, error_constraint text
    )
    language plpgsql as $fn$
    declare
      r record;
      v_new boolean := false;
    begin
      begin
        -- es_append builds its whole result before the first row is fetched: an error comes before any row.
        for r in select * from es_append(p_stream, p_expected_kind, p_expected, p_ids, p_types, p_data,
                                         p_metadata) loop
          stream_version := r.stream_version;
          global_position := r.global_position;
          transaction_id := r.transaction_id;
          recorded_at := r.recorded_at;
          already_stored := r.already_stored;
          v_new := not r.already_stored;
          return next;
        end loop;
      exception when others then
        get stacked diagnostics error_state = returned_sqlstate, error_message = message_text,
                                error_detail = pg_exception_detail, error_constraint = constraint_name;
        error_detail := nullif(error_detail, '');
        error_constraint := nullif(error_constraint, '');
        return next;
        return;
      end;
      if v_new then
        perform pg_notify(p_channel, p_wakeup);
      end if;
    end
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function if exists es_append_in_tx(text, text, bigint, uuid[], text[], jsonb[], jsonb[], text, text);
    -- 001's body again (its jsonb wrapper calls the array version dropped below).
    create or replace function es_append(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb)
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql as $fn$
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
    alter function es_append(text, text, bigint, jsonb) set enable_seqscan = off;
    drop function if exists es_append(text, text, bigint, uuid[], text[], jsonb[], jsonb[]);
  `);
}
