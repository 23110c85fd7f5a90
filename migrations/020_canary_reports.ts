import type { Knex } from 'knex';

/**
 * canary_reports (docs/domain.md §6): one row per completed canary run, projected from CanaryRunCompleted (the
 * report is in the event). Listed newest first, filtered by status and passed.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table canary_reports (
      run_id        text primary key,
      status        text not null,
      passed        boolean not null,
      trigger       text not null,
      started_at    timestamptz not null,
      completed_at  timestamptz not null,
      total_samples integer not null,
      kl_divergence double precision not null,
      report        jsonb not null
    );
    create index canary_reports_completed on canary_reports (completed_at desc, run_id desc);
    create index canary_reports_status on canary_reports (status, completed_at desc);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists canary_reports');
}
