import type { Knex } from 'knex';

/**
 * es_append must look events up through its indexes however small es_events looked when a connection
 * first ran it. PL/pgSQL caches a generic plan per connection after a few calls; on a fresh database
 * (no ANALYZE yet, autovacuum runs once a minute) that plan was a sequential scan, so every append on a
 * long-lived pooled connection scanned the whole table: measured 0.8 ms → 2.7 ms per append over the
 * first 24 000 events, with one seq scan per append in pg_stat_user_tables. Each statement in the
 * function has an index that answers it, so sequential scans are simply switched off inside it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter function es_append(text, text, bigint, jsonb) set enable_seqscan = off`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter function es_append(text, text, bigint, jsonb) reset enable_seqscan`);
}
