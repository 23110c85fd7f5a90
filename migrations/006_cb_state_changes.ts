import type { Knex } from 'knex';

/**
 * Which transaction last changed each cb_state row, so every replica's in-memory breaker cache reloads only
 * the rows changed since its last read instead of the whole table (one row per breaker and tenant, and a
 * drift report changes its row). Readers use the same snapshot-xmin horizon as the event store, so a row
 * written by a transaction that commits late is still picked up.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table cb_state add column changed_tx xid8 not null default pg_current_xact_id();
    create index cb_state_changed_tx on cb_state (changed_tx);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists cb_state_changed_tx; alter table cb_state drop column changed_tx;`);
}
