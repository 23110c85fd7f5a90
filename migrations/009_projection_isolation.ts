import type { Knex } from 'knex';

/**
 * Isolated projections and their dead letters (docs/projections.md).
 *
 * projection_checkpoints.handles — the event types the projection reads, written by the projector when a
 *   lane starts: lag is counted over those types only, so a projection is not "behind" on events it never
 *   reads (the breaker's cb_state beside a provenance flood).
 *
 * projection_dead_letters — an event a projection of untrusted data still could not apply after its
 *   retries, parked with the error so the projection moves on (Marten's retry → pause → skip). The event
 *   itself stays in es_events; a row points at it. `parked` rows are open; an operator resolves one by
 *   retrying it (`retried`: applied now) or skipping it (`skipped`), recorded here and as an event.
 *   A rebuild that fails on the same event again re-opens a retried row and leaves a skipped one alone.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table projection_checkpoints add column handles text[];

    create table projection_dead_letters (
      projection      text not null,
      event_id        uuid not null,
      transaction_id  xid8 not null,
      global_position bigint not null,
      stream_name     text not null,
      stream_version  bigint not null,
      event_type      text not null,
      error           text not null,
      failures        integer not null default 1,
      status          text not null default 'parked' check (status in ('parked', 'retried', 'skipped')),
      parked_at       timestamptz not null default now(),
      last_failed_at  timestamptz not null default now(),
      resolved_at     timestamptz,
      resolved_by     text,
      resolution_note text,
      primary key (projection, event_id)
    );
    create index projection_dead_letters_open on projection_dead_letters (projection, parked_at)
      where status = 'parked';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop table if exists projection_dead_letters;
    alter table projection_checkpoints drop column if exists handles;
  `);
}
