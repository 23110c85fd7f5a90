import type { Knex } from 'knex';
import { rebuildDriftDays } from '../src/projections/provenance/driftRollup';

/**
 * provenance_drift_daily: drift statistics per tenant, variant and UTC day, maintained by the provenance
 * projection with the rows it inserts (issue 13, point 4), so drift-stats costs one row per day and group
 * instead of a sort of every record in its window (83–108 ms p99 for one day over 1M records before).
 *
 * Sums are numeric (exact, and no float8 overflow whatever was stored, as in the query they replace): the
 * count, mean, standard deviation, min and max come out exactly as from the records. The percentiles come
 * from `sketch`, a DDSketch (1 % relative accuracy) in protobuf bytes, merged across rows by the query.
 * Only records with both costs (cost_delta not null) count, as in drift-stats. tenant_id may be null (a
 * global record): the key treats nulls as equal.
 *
 * The rows already in provenance are rolled up here, day by day.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table provenance_drift_daily (
      tenant_id     text,
      variant_slug  text not null,
      day           date not null,
      n             bigint not null,
      sum_delta     numeric not null,
      sumsq_delta   numeric not null,
      min_delta     double precision not null,
      max_delta     double precision not null,
      sketch        bytea not null,
      constraint provenance_drift_daily_key unique nulls not distinct (tenant_id, variant_slug, day)
    );
    create index provenance_drift_daily_day on provenance_drift_daily (day);
  `);
  const { rows } = (await knex.raw(
    `select distinct (created_at at time zone 'UTC')::date::text as day from provenance where cost_delta is not null`,
  )) as { rows: Array<{ day: string }> };
  const client = (await knex.client.acquireConnection()) as import('pg').ClientBase;
  try {
    await rebuildDriftDays(
      client,
      rows.map((r) => r.day),
    );
  } finally {
    await knex.client.releaseConnection(client);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists provenance_drift_daily');
}
