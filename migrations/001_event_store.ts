import type { Knex } from 'knex';

/**
 * The PostgreSQL event store (architecture.md, "The ordering problem").
 *
 * Each event row records the writing transaction's id. Readers only take rows whose transaction is older
 * than the oldest transaction still running (pg_snapshot_xmin), ordered by (transaction_id,
 * global_position): a row that becomes visible later always sorts after everything already read, so a
 * reader never skips an event, and rolled-back transactions leave no holes to wait for.
 *
 * Appends go through one function call so that an append is a single round trip (the same cost shape as a
 * plain INSERT), and every stream expectation is enforced by the row lock on es_streams.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table es_streams (
      stream_name text primary key,
      version     bigint not null check (version >= 1),
      created_at  timestamptz not null default now(),
      updated_at  timestamptz not null default now()
    );

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

    create function es_append(
      p_stream text, p_expected_kind text, p_expected bigint,
      p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[]
    ) returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      already_stored boolean
    )
    language plpgsql as $fn$
    declare
      n int := cardinality(p_ids);
      v_found int;
      v_new bigint;
      v_now timestamptz;
    begin
      -- Idempotency: an append whose event ids are all stored (in this stream) returns the stored result.
      select count(*) into v_found from es_events e where e.event_id = any(p_ids);
      if v_found > 0 then
        if v_found = n and not exists (
          select 1 from es_events e where e.event_id = any(p_ids) and e.stream_name <> p_stream
        ) then
          return query
            select e.stream_version, e.global_position, e.transaction_id, e.recorded_at, true
            from unnest(p_ids) with ordinality as u(id, ord)
            join es_events e on e.event_id = u.id
            order by u.ord;
          return;
        end if;
        raise exception 'events of this append are already stored elsewhere or in part'
          using errcode = 'CS002';
      end if;

      if p_expected_kind = 'any' then
        insert into es_streams as s (stream_name, version) values (p_stream, n)
          on conflict (stream_name) do update set version = s.version + n, updated_at = now()
          returning s.version into v_new;
      elsif p_expected_kind = 'no_stream' or (p_expected_kind = 'exact' and p_expected = 0) then
        insert into es_streams (stream_name, version) values (p_stream, n)
          on conflict (stream_name) do nothing
          returning es_streams.version into v_new;
      elsif p_expected_kind = 'stream_exists' then
        update es_streams s set version = s.version + n, updated_at = now()
          where s.stream_name = p_stream returning s.version into v_new;
      elsif p_expected_kind = 'exact' then
        update es_streams s set version = s.version + n, updated_at = now()
          where s.stream_name = p_stream and s.version = p_expected returning s.version into v_new;
      else
        raise exception 'unknown expectation %', p_expected_kind using errcode = '22023';
      end if;

      if v_new is null then
        raise exception 'wrong expected version for stream %', p_stream
          using errcode = 'CS001',
                detail = coalesce((select s.version::text from es_streams s where s.stream_name = p_stream), '0');
      end if;

      -- Taken after the stream row lock, so recorded_at never goes backwards within a stream.
      v_now := clock_timestamp();
      return query
        insert into es_events as e (event_id, stream_name, stream_version, event_type, data, metadata, recorded_at)
        select u.id, p_stream, v_new - n + u.ord, u.t, u.d, u.m, v_now
        from unnest(p_ids, p_types, p_data, p_metadata) with ordinality as u(id, t, d, m, ord)
        order by u.ord
        returning e.stream_version, e.global_position, e.transaction_id, e.recorded_at, false;
    end
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function if exists es_append(text, text, bigint, uuid[], text[], jsonb[], jsonb[]);
    drop table if exists projection_checkpoints;
    drop table if exists es_events;
    drop table if exists es_streams;
  `);
}
