import type pg from 'pg';
import {
  type AlertAdminEvent,
  type AlertDeliveryEvent,
  type AlertRouted,
  alertAdminEventTypes,
  alertDeliveryEventTypes,
  routedRowId,
} from '../../domain/alerts/alertDeliveryEvents';
import { breakerEventTypes, parseBreakerStreamName } from '../../domain/breaker';
import {
  type AlertIntent,
  type AlertKind,
  type AlertTriggerEvent,
  alertIntentsOf,
  alertTriggerTypes,
} from '../../domain/alerts/alertKinds';
import type { StoredEvent } from '../../infra/eventStore/eventStore';
import { type Projection, decodeEvent } from '../projection';

const breakerEvents: ReadonlySet<string> = new Set(breakerEventTypes);

/** Wakes the delivery workers of every replica when new intents are queued (they poll too). */
export const ALERT_QUEUE_CHANNEL = 'alert_queue_changed';

const DEFAULT_INSTANCE = 'costsim-guard';

/**
 * alert_firing and alert_queue (migration 007) from breaker events and delivery outcomes:
 *  - BreakerTripped: the incident's alert facts go to alert_firing (one row per incident);
 *  - BreakerEnabled / BreakerAutoRecovered: alert_firing is marked resolved;
 *  - every event some kind of alert is queued by (src/domain/alerts/alertKinds.ts: disable, enable,
 *    drift_warning, recovery_deferred, canary_fail) queues that kind's intent, its own facts on the row;
 *  - AlertDelivered / AlertDeliveryFailed: the routed row takes the outcome (created from its intent if a
 *    rebuild has not routed it yet), never going back to fewer attempts.
 * Intent rows carry no rendered payload: the worker renders alerts from alert_firing when it sends, so a
 * late delivery carries the current truth (a firing alert for a breaker closed meanwhile goes out resolved).
 */
export const alertQueueProjection: Projection = {
  name: 'alert_queue',
  handles: [
    ...alertTriggerTypes, // src/domain/alerts/alertKinds.ts: the events each kind of alert is queued by
    ...alertDeliveryEventTypes,
    ...alertAdminEventTypes,
  ],
  tables: ['alert_queue', 'alert_firing'],
  // A breaker event is never parked (its alert must not be lost); a delivery outcome or an operator action
  // that keeps failing may be: at worst an alert is sent once more (Alertmanager de-duplicates it).
  mayPark: (event) => !breakerEvents.has(event.type),
  // The delivery worker and the operator commands apply their events inline, in the events' transaction.
  writtenOutsideProjector: true,
  changeChannel: ALERT_QUEUE_CHANNEL,
  async apply(tx: pg.ClientBase, events: readonly StoredEvent[]) {
    let queued = false;
    // Outcomes in a row (a delivery batch) are applied together, a statement per kind for as long as no row
    // repeats: distinct rows, so their order among themselves does not matter.
    let outcomes: Outcome[] = [];
    const flush = async () => {
      if (outcomes.length > 0) await applyOutcomes(tx, outcomes);
      outcomes = [];
    };
    for (const stored of events) {
      if (stored.type === 'AlertDelivered' || stored.type === 'AlertDeliveryFailed') {
        const outcome = decodeEvent<Outcome>(stored);
        const id = routedRowId(outcome.data.intent_key, outcome.data.target);
        if (outcomes.some((o) => routedRowId(o.data.intent_key, o.data.target) === id)) await flush();
        outcomes.push(outcome);
        continue;
      }
      await flush();
      if (stored.type === 'AlertRouted') {
        await applyRouting(tx, decodeEvent<AlertRouted>(stored));
        queued = true;
        continue;
      }
      if (stored.type === 'AlertsRetried' || stored.type === 'AlertsPurged') {
        await applyAdminActions(tx, [stored]);
        queued = true;
        continue;
      }
      const breaker = parseBreakerStreamName(stored.streamName);
      if (!breaker && stored.type !== 'CanaryRunCompleted') continue;
      const event = decodeEvent<AlertTriggerEvent>(stored);
      const instance =
        typeof stored.metadata.instance === 'string' ? stored.metadata.instance : DEFAULT_INSTANCE;
      // The incident's facts, which its `incident` alerts render from at send time.
      if (breaker && event.type === 'BreakerTripped') {
        await tx.query(
          `insert into alert_firing (stream_name, breaker, tenant_id, incident_id, instance, trip)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (incident_id) do nothing`,
          [
            stored.streamName,
            breaker.name,
            breaker.tenant_id,
            event.data.incident_id,
            instance,
            JSON.stringify(event.data),
          ],
        );
      } else if (
        (event.type === 'BreakerEnabled' || event.type === 'BreakerAutoRecovered') &&
        event.data.incident_id !== null
      ) {
        const closed = {
          at: event.data.at,
          resolved_by: event.data.resolved_by,
          resolution_notes: event.data.resolution_notes,
        };
        await tx.query(
          `update alert_firing set resolved_at = $2, closed = $3 where incident_id = $1 and resolved_at is null`,
          [event.data.incident_id, closed.at, JSON.stringify(closed)],
        );
      }
      for (const { kind, intent } of alertIntentsOf(event, { breaker, instance })) {
        await queueIntent(tx, `${stored.eventId}:${kind}`, kind, intent, stored);
        queued = true;
      }
    }
    await flush();
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

function queueIntent(
  tx: pg.ClientBase,
  key: string,
  kind: AlertKind,
  intent: AlertIntent<unknown>,
  stored: StoredEvent,
) {
  const at = stored.recordedAt.toISOString();
  const { breaker, incidentId, facts } = intent;
  return tx.query(
    `insert into alert_queue (id, intent_key, alert_type, circuit_breaker_name, tenant_id, incident_id,
                              stream_name, facts, target, next_attempt_at, created_at)
     values ($1, $1, $2, $3, $4, $5, $6, $8, null, $7, $7)
     on conflict (id) do nothing`,
    [
      key,
      kind,
      breaker.name,
      breaker.tenant_id,
      incidentId,
      stored.streamName,
      at,
      facts && JSON.stringify(facts),
    ],
  );
}

type Outcome = Exclude<AlertDeliveryEvent, AlertRouted>;

/**
 * Delivery outcomes, each on its routed row (all rows distinct), one statement per kind; idempotent and
 * never backwards: the worker applies a batch inline with its events, and the projector applies the same
 * events again later (or on a rebuild).
 */
async function applyOutcomes(tx: pg.ClientBase, events: readonly Outcome[]): Promise<void> {
  const row = (d: Outcome['data']) => ({
    id: routedRowId(d.intent_key, d.target),
    attempts: d.attempts,
    at: d.at,
    payload: d.payload ?? null,
  });
  const delivered = events.filter((e) => e.type === 'AlertDelivered').map((e) => row(e.data));
  const failed = events.flatMap((e) =>
    e.type === 'AlertDeliveryFailed'
      ? [{ ...row(e.data), error: e.data.error, next_attempt_at: e.data.next_attempt_at }]
      : [],
  );
  // A null payload (rendering failed) is stored as JSON null, as the row's payload always was.
  if (delivered.length > 0) {
    await tx.query(
      `update alert_queue q set status = 'sent', attempts = r.attempts, last_attempt_at = r.at, sent_at = r.at,
              last_error = null, claimed_until = null, claimed_by = null,
              payload = coalesce(r.payload, 'null'::jsonb)
         from jsonb_to_recordset($1::jsonb) as r(id text, attempts int, at timestamptz, payload jsonb)
        where q.id = r.id and q.attempts <= r.attempts and q.status <> 'sent'`,
      [JSON.stringify(delivered)],
    );
  }
  if (failed.length > 0) {
    await tx.query(
      `update alert_queue q
          set status = case when r.next_attempt_at is null then 'failed' else 'pending' end,
              attempts = r.attempts, last_attempt_at = r.at, last_error = r.error,
              next_attempt_at = coalesce(r.next_attempt_at, q.next_attempt_at), claimed_until = null,
              claimed_by = null, payload = coalesce(r.payload, 'null'::jsonb)
         from jsonb_to_recordset($1::jsonb)
              as r(id text, attempts int, at timestamptz, payload jsonb, error text, next_attempt_at timestamptz)
        where q.id = r.id and q.attempts < r.attempts and q.status = 'pending'`,
      [JSON.stringify(failed)],
    );
  }
}

/**
 * The operator actions among stored events, applied (the projection's own handling of them): returns the
 * rows they changed, which the operator's command reports after applying them inline.
 */
export async function applyAdminActions(tx: pg.ClientBase, events: readonly StoredEvent[]): Promise<number> {
  let changed = 0;
  for (const stored of events) {
    if (stored.type !== 'AlertsRetried' && stored.type !== 'AlertsPurged') continue;
    changed += await applyAdminAction(tx, decodeEvent<AlertAdminEvent>(stored));
  }
  return changed;
}

/**
 * Operator actions, idempotent: the command applies them inline with its event, the projector again later.
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
async function applyRouting(tx: pg.ClientBase, event: AlertRouted): Promise<void> {
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
