import type { Knex } from 'knex';

/**
 * projection_batch_checked: lets a projection's batch and its checkpoint's fenced compare-and-set be ONE
 * statement outside an explicit transaction (its own transaction, one round trip): the statement ends with
 * this check, which raises — rolling back the whole statement, the batch's rows with it — when the
 * leader's lock is gone (CSG01) or the checkpoint was not where the batch expected it (CSG02). A batch in
 * an explicit transaction was begin, apply, move, commit: four round trips, each waiting on the service's
 * event loop while the transaction held the event store's read horizon back for every reader.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function projection_batch_checked(p_held boolean, p_moved int, p_name text) returns boolean
    language plpgsql as $fn$
    begin
      if not p_held then
        raise exception 'projector leadership lost: batch of % rolled back', p_name using errcode = 'CSG01';
      end if;
      if p_moved <> 1 then
        raise exception 'checkpoint of projection % moved under us', p_name using errcode = 'CSG02';
      end if;
      return true;
    end
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists projection_batch_checked(boolean, int, text)');
}
