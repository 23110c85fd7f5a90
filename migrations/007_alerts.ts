import type { Knex } from 'knex';

/**
 * Alert delivery (docs/domain.md §4, docs/architecture.md principle 5), both tables built by the projector:
 *
 * alert_firing — one row per incident: the facts its alert is rendered from, so the worker renders the
 *   firing, re-asserted and resolving alerts with the SAME labels, however much later they go out.
 * alert_queue — the outbox. The projector adds one row per alert intent with `target` null; a delivery
 *   worker routes it to one row per configured Alertmanager URL (every alert goes to every URL) and sends.
 *   With no URL configured, rows stay pending: never silently "sent". Outcomes are appended as events
 *   (AlertDelivered / AlertDeliveryFailed) and projected back here, so a rebuild never re-sends an alert
 *   that was delivered. `claimed_until` is a lease: a worker that dies mid-send loses its claim.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table alert_firing (
      incident_id   text primary key,
      stream_name   text not null,
      breaker       text not null,
      tenant_id     text,
      instance      text not null,
      trip          jsonb not null,
      resolved_at   timestamptz,
      closed        jsonb
    );
    create index alert_firing_resolved on alert_firing (resolved_at);

    create table alert_queue (
      id                   text primary key,
      intent_key           text not null,
      alert_type           text not null,
      circuit_breaker_name text,
      tenant_id            text,
      incident_id          text,
      stream_name          text,
      -- facts of an alert that belongs to no incident (drift_warning); incident alerts use alert_firing
      facts                jsonb,
      target               text,
      payload              jsonb,
      attempts             integer not null default 0,
      max_attempts         integer not null default 10,
      last_attempt_at      timestamptz,
      next_attempt_at      timestamptz not null,
      last_error           text,
      status               text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
      created_at           timestamptz not null,
      sent_at              timestamptz,
      claimed_until        timestamptz,
      claimed_by           text
    );
    create index alert_queue_due on alert_queue (next_attempt_at) where status = 'pending';
    create index alert_queue_intent on alert_queue (intent_key);
    create index alert_queue_status_created on alert_queue (status, created_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists alert_queue; drop table if exists alert_firing;');
}
