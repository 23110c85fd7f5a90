import type { Knex } from 'knex';

/**
 * drift_rollup (docs/projections.md, docs/api.md "drift statistics"): the drift_rollup projection's
 * per-(span, bucket, tenant, variant) summary of cost_delta over the provenance records that have both
 * costs, so GET /costsim/provenance/drift-stats costs the same whatever the rows in its window.
 *
 * - span 'hour' and 'day' (UTC), bucket = the bucket's start: a window takes its whole days from day rows
 *   and its remaining whole hours from hour rows.
 * - tenant_key: the record's tenant_id, '' for a record of no tenant (a tenant id is never empty).
 * - n, sum_delta, sum_sq_delta: exact (numeric over cost_delta::numeric, as the raw query sums), so a
 *   bucket's figures do not depend on how its records were split into batches, or on their order.
 * - sketch: a DDSketch (protobuf, canonical form) of cost_delta for the percentiles.
 *
 * drift_rollup_retention holds the latest retention cut-off the projection applied: buckets that reach
 * below it are read from raw provenance rows, never from here.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table drift_rollup (
      span          text not null check (span in ('hour', 'day')),
      bucket        timestamptz not null,
      tenant_key    text not null,
      variant_slug  text not null,
      n             bigint not null,
      sum_delta     numeric not null,
      sum_sq_delta  numeric not null,
      min_delta     double precision not null,
      max_delta     double precision not null,
      sketch        bytea not null,
      primary key (span, bucket, tenant_key, variant_slug)
    );
    create index drift_rollup_tenant on drift_rollup (tenant_key, span, bucket);

    create table drift_rollup_retention (
      id      boolean primary key default true check (id),
      before  timestamptz not null
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists drift_rollup; drop table if exists drift_rollup_retention');
}
