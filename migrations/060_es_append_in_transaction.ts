import type { Knex } from 'knex';

/**
 * es_append_in_tx: es_append for a caller's transaction (inline projections, docs/architecture.md) in ONE
 * round trip. The exception block is the savepoint: a failed append (a lost race on the unique indexes, a
 * wrong expectation) rolls back the append alone and comes back as a row naming the error, so the caller's
 * transaction goes on; a successful one sends the wake-up NOTIFY (transactional: readers wake at commit).
 * It was a SAVEPOINT, the append and a RELEASE with the NOTIFY: three round trips per alert outcome.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function es_append_in_tx(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb,
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
        for r in select * from es_append(p_stream, p_expected_kind, p_expected, p_events) loop
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
  await knex.raw('drop function if exists es_append_in_tx(text, text, bigint, jsonb, text, text)');
}
