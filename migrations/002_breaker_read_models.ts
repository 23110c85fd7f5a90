import type { Knex } from 'knex';

/**
 * Breaker read models (docs/domain.md §3), built by the projector from breaker events. `state` keeps the whole
 * aggregate state so the projection can evolve it with the domain's own `evolve` — the read model cannot
 * drift from what the decider sees.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table cb_state (
      name                 text not null,
      tenant_id            text,
      tenant_key           text generated always as (coalesce(tenant_id, '')) stored,
      open                 boolean not null,
      disabled_by          text,
      disabled_reason      text,
      disabled_until       timestamptz,
      incident_id          text,
      consecutive_failures integer not null,
      last_failure_at      timestamptz,
      opened_at            timestamptz,
      updated_at           timestamptz,
      version              bigint not null,
      state                jsonb not null,
      primary key (name, tenant_key)
    );
    create index cb_state_open_until on cb_state (disabled_until) where open;

    create table cb_incidents (
      id               text primary key,
      breaker          text not null,
      tenant_id        text,
      timestamp        timestamptz not null,
      reason           text not null,
      severity         text not null check (severity in ('P1', 'P2', 'P3')),
      trigger          text not null,
      drift_score      double precision,
      sample_count     integer,
      details          jsonb not null default '{}'::jsonb,
      resolved         boolean not null default false,
      resolved_at      timestamptz,
      resolved_by      text,
      resolution_notes text,
      alert_sent       boolean not null default false,
      alert_sent_at    timestamptz,
      stream_version   bigint not null
    );
    create index cb_incidents_breaker_time on cb_incidents (breaker, (coalesce(tenant_id, '')), timestamp desc);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists cb_incidents; drop table if exists cb_state;');
}
