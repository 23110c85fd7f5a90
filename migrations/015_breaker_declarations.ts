import type { Knex } from 'knex';

/**
 * cb_declarations: the declared breakers (docs/api.md "Breakers"), projected from BreakerDeclared /
 * BreakerDescriptionChanged. Lists and the CLI read it; whether a name is declared is answered from the
 * declaration streams themselves, so a declaration counts at once on every replica.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table cb_declarations (
      name text primary key,
      description text,
      declared_at timestamptz not null,
      declared_by text not null,
      updated_at timestamptz not null,
      version bigint not null
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists cb_declarations');
}
