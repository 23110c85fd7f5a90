import type { Knex } from 'knex';

/**
 * Readers of some event types only (readAll's `types`, readNewer: the V2 gate follows breaker events)
 * filter in SQL with this index: per type, in commit order, so a reader of rare types never reads through
 * a flood of others (100 000 provenance records between two breaker events cost it nothing). It replaces
 * es_events_type (event_type alone), which is its prefix, so appends maintain no more indexes than before.
 * Built in the migration's transaction: on a large es_events this blocks appends while it builds.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create index es_events_type_commit_order on es_events (event_type, transaction_id, global_position);
    drop index if exists es_events_type;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    create index if not exists es_events_type on es_events (event_type);
    drop index if exists es_events_type_commit_order;
  `);
}
