import type { Knex } from 'knex';

/**
 * The PostgreSQL event store (docs/architecture.md, "The ordering problem").
 *
 * Each event row records the writing transaction's id. Readers only take rows whose transaction is older
 * than the oldest transaction still running (pg_snapshot_xmin), ordered by (transaction_id,
 * global_position): a row that becomes visible later always sorts after everything already read, so a
 * reader never skips an event, and rolled-back transactions leave no holes to wait for.
 *
 * Appends go through one function call so that an append is a single round trip and a single row write per
 * event (the same cost shape as a plain INSERT); stream expectations are checked against the stream's
 * current version and enforced by the unique (stream_name, stream_version) index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table es_events (
      global_position bigint generated always as identity primary key,
      transaction_id  xid8 not null default pg_current_xact_id(),
      event_id        uuid not null,
      stream_name     text not null,
      stream_version  bigint not null check (stream_version >= 1),
      event_type      text not null,
      data            jsonb not null,
      metadata        jsonb not null default '{}'::jsonb,
      recorded_at     timestamptz not null default clock_timestamp(),
      constraint es_events_event_id_key unique (event_id),
      -- Also the concurrency control: two appends that read the same stream version cannot both insert.
      constraint es_events_stream_version_key unique (stream_name, stream_version)
    );
    create index es_events_commit_order on es_events (transaction_id, global_position);
    create index es_events_type on es_events (event_type);

    create table projection_checkpoints (
      name            text primary key,
      transaction_id  xid8 not null default '0',
      global_position bigint not null default 0,
      updated_at      timestamptz not null default now()
    );

    -- p_events: [{id, type, data, metadata}] in stream order.
    create function es_append(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb)
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

      -- Idempotency: an append whose event ids are all stored (in this stream) returns the stored result,
      -- whatever the expectation says now.
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

      -- A concurrent append that read the same version blocks on the unique index until this one commits,
      -- then fails with unique_violation on es_events_stream_version_key: the caller maps that to a
      -- version conflict (or, for 'any', simply tries again).
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

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function if exists es_append(text, text, bigint, jsonb);
    drop table if exists projection_checkpoints;
    drop table if exists es_events;
  `);
}
