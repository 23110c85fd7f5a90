import type { Knex } from 'knex';

/**
 * Stream snapshots: the state a decider folded up to `stream_version`, so a replica that has not cached a
 * stream reads the snapshot and only the events after it. A breaker stream gains an event per drift
 * report, so without snapshots a cold start replays a stream as long as the breaker's whole traffic.
 * Snapshots are derived data: they can be deleted at any time (loads fall back to a full replay), and
 * `schema` names the state's shape, so a deploy that changes it simply ignores older snapshots.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table es_snapshots (
      stream_name    text not null,
      schema         text not null,
      stream_version bigint not null check (stream_version >= 1),
      state          jsonb not null,
      taken_at       timestamptz not null default now(),
      primary key (stream_name, schema)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop table if exists es_snapshots`);
}
