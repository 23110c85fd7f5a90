import type { Knex } from 'knex';

/**
 * es_append_streams_in_tx: events for MANY streams (expectation 'any', each stream's events in the given
 * order) appended in the caller's transaction in ONE round trip and ONE subtransaction: a batch of alert
 * delivery outcomes (one stream per queue row) records 50 outcomes with one call instead of 50.
 *
 * p_events: [{id, stream, type, data, metadata}]. Returns one row per event in the given order, or a
 * single row naming the error (the exception block rolled the whole call back, nothing is stored): an
 * event id already stored, a lost race on a stream version. The caller then appends stream by stream
 * through es_append_in_tx, whose idempotency and retry rules are the ones every append has. A single
 * exception block, not one per stream: every subtransaction that writes takes a subxid, and more than 64
 * in one transaction overflow the backend's cache and slow every other session's snapshots.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function es_append_streams_in_tx(p_events jsonb, p_channel text, p_wakeup text)
    returns table (
      stream_version bigint, global_position bigint, transaction_id xid8, recorded_at timestamptz,
      error_state text, error_message text, error_detail text, error_constraint text
    )
    language plpgsql
    set enable_seqscan = off -- as es_append (migration 003): index lookups however small es_events looked
    as $fn$
    #variable_conflict use_column
    begin
      begin
        if exists (
          select 1 from es_events e
           where e.event_id in (select (x->>'id')::uuid from jsonb_array_elements(p_events) x)
        ) then
          raise exception 'events of this append are already stored' using errcode = 'CS002';
        end if;
        return query
          with given as (
            select u.ord, x->>'stream' as stream, (x->>'id')::uuid as id, x->>'type' as type,
                   x->'data' as data, coalesce(x->'metadata', '{}'::jsonb) as metadata,
                   row_number() over (partition by x->>'stream' order by u.ord) as n
              from jsonb_array_elements(p_events) with ordinality as u(x, ord)),
          cur as (
            select s.stream,
                   coalesce((select max(e.stream_version) from es_events e where e.stream_name = s.stream), 0)
                     as v
              from (select distinct g.stream from given g) s),
          inserted as (
            insert into es_events as e (event_id, stream_name, stream_version, event_type, data, metadata)
            select g.id, g.stream, c.v + g.n, g.type, g.data, g.metadata
              from given g join cur c on c.stream = g.stream
             order by g.ord
            returning e.event_id, e.stream_version, e.global_position, e.transaction_id, e.recorded_at)
          select i.stream_version, i.global_position, i.transaction_id, i.recorded_at,
                 null::text, null::text, null::text, null::text
            from given g join inserted i on i.event_id = g.id
           order by g.ord;
      exception when others then
        get stacked diagnostics error_state = returned_sqlstate, error_message = message_text,
                                error_detail = pg_exception_detail, error_constraint = constraint_name;
        stream_version := null;
        global_position := null;
        transaction_id := null;
        recorded_at := null;
        error_detail := nullif(error_detail, '');
        error_constraint := nullif(error_constraint, '');
        return next;
        return;
      end;
      perform pg_notify(p_channel, p_wakeup);
    end
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists es_append_streams_in_tx(jsonb, text, text)');
}
