import type { Knex } from 'knex';

/**
 * alert_queue_intent (intent_key) goes: no query reads by it (routing and outcomes find rows by id, the
 * operators' reads by status and time), and every row version the outbox writes — the routed row, its
 * lease when it is not a HOT update, its outcome, which never is — paid an entry in it (issue #13).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists alert_queue_intent');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists alert_queue_intent on alert_queue (intent_key)');
}
