import type pg from 'pg';
import {
  type AlertAdminEvent,
  type AlertDeliveryEvent,
  type AlertRouted,
  alertAdminEventTypes,
  alertDeliveryEventTypes,
  routedRowId,
} from '../../domain/alerts/alertDeliveryEvents';
import { type BreakerEvent, breakerEventTypes, parseBreakerStreamName } from '../../domain/breaker';
import type { CanaryFailedFacts } from '../../domain/alerts/canaryAlerts';
import type { CanaryRunCompleted } from '../../domain/canary/canaryEvents';
import type { StoredEvent } from '../../infra/eventStore/eventStore';
import { DEFAULT_BREAKER } from '../breaker/breakerStateCache';
import { type Projection, decodeEvent } from '../projection';

const breakerEvents: ReadonlySet<string> = new Set(breakerEventTypes);

/** Wakes the delivery workers of every replica when new intents are queued (they poll too). */
export const ALERT_QUEUE_CHANNEL = 'alert_queue_changed';

const DEFAULT_INSTANCE = 'costsim-guard';

/**
 * alert_firing and alert_queue (migration 007) from breaker events and delivery outcomes:
 *  - BreakerTripped: the incident's alert facts go to alert_firing (one row per incident); a `disable`
 *    intent is queued;
 *  - BreakerEnabled / BreakerAutoRecovered: alert_firing is marked resolved; an `enable` intent is queued;
 *  - DriftTripSuppressed (auto-disable off): a `drift_warning` intent, its facts on the row;
 *  - BreakerRecoveryDeferred (recovery gate): a `recovery_deferred` intent saying why V2 stays off;
 *  - CanaryRunCompleted with status `fail`: a `canary_fail` intent (CostSimCanaryFailed), its facts on the row;
 *  - AlertDelivered / AlertDeliveryFailed: the routed row takes the outcome (created from its intent if a
 *    rebuild has not routed it yet), never going back to fewer attempts.
 * Intent rows carry no rendered payload: the worker renders alerts from alert_firing when it sends, so a
 * late delivery carries the current truth (a firing alert for a breaker closed meanwhile goes out resolved).
 */
export const alertQueueProjection: Projection = {
  name: 'alert_queue',
  handles: [
    'BreakerTripped',
    'BreakerEnabled',
    'BreakerAutoRecovered',
    'DriftTripSuppressed',
    'BreakerRecoveryDeferred',
    'CanaryRunCompleted',
    ...alertDeliveryEventTypes,
    ...alertAdminEventTypes,
  ],
  tables: ['alert_queue', 'alert_firing'],
  // A breaker event is never parked (its alert must not be lost); a delivery outcome or an operator action
  // that keeps failing may be: at worst an alert is sent once more (Alertmanager de-duplicates it).
  mayPark: (event) => !breakerEvents.has(event.type),
  // The delivery worker and the operator routes apply outcomes, routing and admin actions at once.
  writtenOutsideProjector: true,
  changeChannel: ALERT_QUEUE_CHANNEL,
  async apply(tx: pg.ClientBase, events: readonly StoredEvent[]) {
    let queued = false;
    for (const stored of events) {
      if (stored.type === 'AlertRouted') {
        await applyRouting(tx, decodeEvent<AlertRouted>(stored));
        queued = true;
        continue;
      }
      if (stored.type === 'AlertDelivered' || stored.type === 'AlertDeliveryFailed') {
        await applyOutcome(tx, decodeEvent<Exclude<AlertDeliveryEvent, AlertRouted>>(stored));
        continue;
      }
      if (stored.type === 'AlertsRetried' || stored.type === 'AlertsPurged') {
        await applyAdminAction(tx, decodeEvent<AlertAdminEvent>(stored));
        queued = true;
        continue;
      }
      if (stored.type === 'CanaryRunCompleted') {
        queued = (await queueCanaryFailure(tx, stored)) || queued;
        continue;
      }
      const ref = parseBreakerStreamName(stored.streamName);
      if (!ref) continue;
      const event = decodeEvent<BreakerEvent>(stored);
      const instance =
        typeof stored.metadata.instance === 'string' ? stored.metadata.instance : DEFAULT_INSTANCE;
      if (event.type === 'BreakerTripped') {
        await tx.query(
          `insert into alert_firing (stream_name, breaker, tenant_id, incident_id, instance, trip)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (incident_id) do nothing`,
          [
            stored.streamName,
            ref.name,
            ref.tenant_id,
            event.data.incident_id,
            instance,
            JSON.stringify(event.data),
          ],
        );
        await queueIntent(tx, `${stored.eventId}:disable`, 'disable', ref, event.data.incident_id, stored);
        queued = true;
      } else if (event.type === 'BreakerRecoveryDeferred') {
        const facts = { breaker: ref.name, tenant_id: ref.tenant_id, instance, deferred: event.data };
        const key = `${stored.eventId}:recovery_deferred`;
        await queueIntent(tx, key, 'recovery_deferred', ref, event.data.incident_id, stored, facts);
        queued = true;
      } else if (event.type === 'DriftTripSuppressed') {
        const facts = { breaker: ref.name, tenant_id: ref.tenant_id, instance, drift: event.data };
        await queueIntent(tx, `${stored.eventId}:drift_warning`, 'drift_warning', ref, null, stored, facts);
        queued = true;
      } else if (event.type === 'BreakerEnabled' || event.type === 'BreakerAutoRecovered') {
        if (event.data.incident_id === null) continue; // nothing was alerted for this opening
        const closed = {
          at: event.data.at,
          resolved_by: event.data.resolved_by,
          resolution_notes: event.data.resolution_notes,
        };
        await tx.query(
          `update alert_firing set resolved_at = $2, closed = $3 where incident_id = $1 and resolved_at is null`,
          [event.data.incident_id, closed.at, JSON.stringify(closed)],
        );
        await queueIntent(tx, `${stored.eventId}:enable`, 'enable', ref, event.data.incident_id, stored);
        queued = true;
      }
    }
    if (queued) await tx.query('select pg_notify($1, $2)', [ALERT_QUEUE_CHANNEL, '']);
  },
  // Leases are not events: a row being sent while the tables are swapped stays claimed by its sender, so
  // no other worker sends it again before the sender records the outcome.
  async carryOver(tx, { live, rebuilt }) {
    await tx.query(
      `update ${rebuilt}.alert_queue n set claimed_until = o.claimed_until, claimed_by = o.claimed_by
         from ${live}.alert_queue o
        where n.id = o.id and o.claimed_until is not null and n.status = 'pending'`,
    );
  },
};

/** A failed canary run queues CostSimCanaryFailed (docs/domain.md §4); any other status queues nothing. */
async function queueCanaryFailure(tx: pg.ClientBase, stored: StoredEvent): Promise<boolean> {
  const { report } = decodeEvent<CanaryRunCompleted>(stored).data;
  if (report.status !== 'fail') return false;
  const instance = typeof stored.metadata.instance === 'string' ? stored.metadata.instance : DEFAULT_INSTANCE;
  const facts: CanaryFailedFacts = {
    run_id: report.run_id,
    timestamp: report.timestamp,
    failure_reasons: report.failure_reasons,
    total_samples: report.total_samples,
    kl_divergence: report.kl_divergence,
    instance,
  };
  // Not a breaker's alert: filed under the breaker the canary judges (costsim_v2, global).
  await queueIntent(tx, `${stored.eventId}:canary_fail`, 'canary_fail', CANARY_BREAKER, null, stored, facts);
  return true;
}

const CANARY_BREAKER = { name: DEFAULT_BREAKER, tenant_id: null };

function queueIntent(
  tx: pg.ClientBase,
  key: string,
  type: 'disable' | 'enable' | 'drift_warning' | 'canary_fail' | 'recovery_deferred',
  ref: { name: string; tenant_id: string | null },
  incidentId: string | null,
  stored: StoredEvent,
  facts: object | null = null,
) {
  const at = stored.recordedAt.toISOString();
  return tx.query(
    `insert into alert_queue (id, intent_key, alert_type, circuit_breaker_name, tenant_id, incident_id,
                              stream_name, facts, target, next_attempt_at, created_at)
     values ($1, $1, $2, $3, $4, $5, $6, $8, null, $7, $7)
     on conflict (id) do nothing`,
    [key, type, ref.name, ref.tenant_id, incidentId, stored.streamName, at, facts && JSON.stringify(facts)],
  );
}

/**
 * A delivery outcome on its routed row, idempotent and never backwards: the worker writes it right after
 * appending the event, and the projector applies the same event again later (or on a rebuild).
 */
export async function applyOutcome(
  tx: pg.ClientBase | pg.Pool,
  event: Exclude<AlertDeliveryEvent, AlertRouted>,
): Promise<void> {
  const d = event.data;
  const id = routedRowId(d.intent_key, d.target);
  if (event.type === 'AlertDelivered') {
    await tx.query(
      `update alert_queue set status = 'sent', attempts = $2, last_attempt_at = $3, sent_at = $3,
              last_error = null, claimed_until = null, claimed_by = null, payload = $4
        where id = $1 and attempts <= $2 and status <> 'sent'`,
      [id, d.attempts, d.at, JSON.stringify(d.payload ?? null)],
    );
  } else {
    const failed = event.data.next_attempt_at === null;
    await tx.query(
      `update alert_queue set status = $4, attempts = $2, last_attempt_at = $3, last_error = $5,
              next_attempt_at = coalesce($6, next_attempt_at), claimed_until = null, claimed_by = null,
              payload = $7
        where id = $1 and attempts < $2 and status = 'pending'`,
      [
        id,
        d.attempts,
        d.at,
        failed ? 'failed' : 'pending',
        event.data.error,
        event.data.next_attempt_at,
        JSON.stringify(d.payload ?? null),
      ],
    );
  }
}

/**
 * Operator actions, idempotent: the route applies them right after appending, the projector again later.
 * A retry only applies to a row whose max_attempts it has not raised yet, so the projector's replay does
 * not re-queue a row that was retried and has failed again since.
 */
export async function applyAdminAction(tx: pg.ClientBase | pg.Pool, event: AlertAdminEvent): Promise<number> {
  if (event.type === 'AlertsRetried') {
    const { rowCount } = await tx.query(
      `update alert_queue q set status = 'pending', max_attempts = r.max_attempts, next_attempt_at = $2,
              last_error = q.last_error
         from jsonb_to_recordset($1::jsonb) as r(id text, max_attempts int)
        where q.id = r.id and q.status = 'failed' and q.max_attempts < r.max_attempts`,
      [JSON.stringify(event.data.rows), event.data.at],
    );
    return rowCount ?? 0;
  }
  const { rowCount } = await tx.query(
    `delete from alert_queue where status = any($1::text[]) and created_at < $2`,
    [event.data.statuses, event.data.before],
  );
  return rowCount ?? 0;
}

/** Each intent becomes one pending row per target; the intent rows go. Idempotent. */
export async function applyRouting(tx: pg.ClientBase | pg.Pool, event: AlertRouted): Promise<void> {
  const { intent_keys: keys, targets } = event.data;
  await tx.query(
    `insert into alert_queue (id, intent_key, alert_type, circuit_breaker_name, tenant_id, incident_id,
                              stream_name, facts, target, next_attempt_at, created_at)
     select i.intent_key || '@' || t.target, i.intent_key, i.alert_type, i.circuit_breaker_name, i.tenant_id,
            i.incident_id, i.stream_name, i.facts, t.target, i.next_attempt_at, i.created_at
       from alert_queue i, unnest($2::text[]) as t(target)
      where i.id = any($1::text[]) and i.target is null
     on conflict (id) do nothing`,
    [keys, targets],
  );
  await tx.query(`delete from alert_queue where id = any($1::text[]) and target is null`, [keys]);
}
