import type { Knex } from 'knex';

/**
 * Where a projection is stuck, and why. A batch a projection cannot apply rolls back and is retried (the
 * projector never skips an event: a read model missing one would be silently wrong), so without this an
 * operator sees only a growing lag. The projector records the failure here, outside the rolled-back
 * transaction, and clears it with the next checkpoint it moves; every replica's readiness and the CLI read it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table projection_checkpoints
      add column failure_message  text,
      add column failure_event_id uuid,
      add column failure_at       timestamptz,
      add column failure_count    int not null default 0;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table projection_checkpoints
      drop column failure_message, drop column failure_event_id, drop column failure_at, drop column failure_count;
  `);
}
