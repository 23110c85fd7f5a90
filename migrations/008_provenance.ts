import type { Knex } from 'knex';

/**
 * provenance (docs/domain.md §5): one row per V1/V2 comparison, backfilled or canary sample, projected from
 * ProvenanceRecorded events. Indexes follow the spec's query patterns; (created_at, id) orders pages.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table provenance (
      id               uuid primary key,
      run_id           text,
      tenant_id        text,
      variant_slug     text not null,
      source           text not null,
      model_version    text,
      adapter_version  text,
      commit_sha       text,
      input_hash       text not null,
      output_hash      text,
      v1_cost          double precision,
      v2_cost          double precision,
      cost_delta       double precision,
      drift_score      double precision,
      verdict          text,
      payload          jsonb not null default '{}'::jsonb,
      runtime_ms       double precision,
      created_at       timestamptz not null
    );
    create index provenance_run on provenance (run_id);
    create index provenance_tenant on provenance (tenant_id);
    create index provenance_variant on provenance (variant_slug);
    create index provenance_input_hash on provenance (input_hash);
    create index provenance_source on provenance (source);
    create index provenance_created on provenance (created_at desc, id desc);
    create index provenance_tenant_created on provenance (tenant_id, created_at desc);
    create index provenance_variant_created on provenance (variant_slug, created_at desc);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists provenance');
}
