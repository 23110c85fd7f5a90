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
import {
  type EventRange,
  type Projection,
  type RangeStatement,
  decodeEvent,
  eventRangeCondition,
} from '../projection';

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
  // Delivery outcomes are most of the events it reads (one per alert sent) and the worker has applied them
  // already: its lane applies runs of them in SQL straight from the stored rows (outcomesInRange), so their
  // payloads are not read into JavaScript to write nothing.
  rangeTypes: ['AlertDelivered', 'AlertDeliveryFailed'],
  rangeStatement: outcomesInRange,
  changeChannel: ALERT_QUEUE_CHANNEL,
  async apply(tx: pg.ClientBase, events: readonly StoredEvent[]) {
    let queued = false;
    // Outcomes in a row (a delivery batch) are applied together, a statement per kind for as long as no row
    // repeats: distinct rows, so their order among themselves does not matter.
    let outcomes: StoredOutcome[] = [];
    const flush = async () => {
      if (outcomes.length > 0) await applyOutcomes(tx, outcomes);
      outcomes = [];
    };
    for (const stored of events) {
      if (stored.type === 'AlertDelivered' || stored.type === 'AlertDeliveryFailed') {
        const outcome = { eventId: stored.eventId, ...decodeEvent<Outcome>(stored) };
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
/** An outcome with the id it is stored under: the statement reads its payload from its row in es_events. */
type StoredOutcome = Outcome & { eventId: string };

/**
 * Delivery outcomes, each on its routed row (all rows distinct), one statement per kind; idempotent and
 * never backwards: the worker applies a batch inline with its events, and the projector applies the same
 * events again later (or on a rebuild).
 *
 * The rendered payload a row keeps is read from the outcome's stored event (es_events, unqualified as
 * everywhere the store is read, by its event id) rather than sent with the statement: it is most of an
 * outcome's bytes, and the projector's pass over outcomes the worker already applied would otherwise
 * serialise every payload again for an update that changes nothing.
 */
async function applyOutcomes(tx: pg.ClientBase, events: readonly StoredOutcome[]): Promise<void> {
  const row = (e: StoredOutcome) => ({
    id: routedRowId(e.data.intent_key, e.data.target),
    attempts: e.data.attempts,
    at: e.data.at,
    event_id: e.eventId,
  });
  const delivered = events.filter((e) => e.type === 'AlertDelivered').map(row);
  const failed = events.flatMap((e) =>
    e.type === 'AlertDeliveryFailed'
      ? [{ ...row(e), error: e.data.error, next_attempt_at: e.data.next_attempt_at }]
      : [],
  );
  // A null payload (rendering failed) is stored as JSON null, as the row's payload always was.
  if (delivered.length > 0) {
    await tx.query(
      `update alert_queue q set status = 'sent', attempts = r.attempts, last_attempt_at = r.at, sent_at = r.at,
              last_error = null, claimed_until = null, claimed_by = null,
              payload = coalesce((select e.data->'payload' from es_events e where e.event_id = r.event_id),
                                 'null'::jsonb)
         from jsonb_to_recordset($1::jsonb) as r(id text, attempts int, at timestamptz, event_id uuid)
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
              claimed_by = null,
              payload = coalesce((select e.data->'payload' from es_events e where e.event_id = r.event_id),
                                 'null'::jsonb)
         from jsonb_to_recordset($1::jsonb)
              as r(id text, attempts int, at timestamptz, event_id uuid, error text, next_attempt_at timestamptz)
        where q.id = r.id and q.attempts < r.attempts and q.status = 'pending'`,
      [JSON.stringify(failed)],
    );
  }
}

/**
 * applyOutcomes for every outcome of a range, as ONE statement over the stored rows (the lane's set-based
 * path; rows the worker applied inline already are left as they are). The same rows as applying the
 * events one by one in commit order, given what the worker guarantees of a row's outcomes: their attempts
 * rise by one from one outcome to the next (each is `attempts + 1` of the row it claimed, and its event id
 * is the row's and that number, so a repeat is stored once), and after a final one (sent, or failed for
 * good) comes none until an operator's retry — an AlertsRetried, which the lane applies through `apply`
 * between ranges. So, against the row as it was before the range:
 *  - the outcomes that apply are the ones applyOutcomes' conditions accept against that row (pending with
 *    fewer attempts for a failure; not sent, no more attempts, for a delivery): on a pending row, every
 *    outcome with more attempts than it has, on a failed one a later delivery, on a sent one none;
 *  - the row takes the last of them (status, attempts, times, error, payload), except next_attempt_at:
 *    a delivery keeps it and a final failure's null keeps it, so it is the last non-null one of the
 *    failures that apply, or the row's own.
 */
function outcomesInRange(range: EventRange): RangeStatement {
  const inRange = eventRangeCondition(range);
  // The range's outcomes that apply, each with the last non-null next_attempt_at of the failures that
  // apply to its row (first_value over the failures with one first, latest first: null when there is none,
  // as a delivery's and a final failure's are), then the last outcome of each row.
  return {
    text: `update alert_queue q
          set status = case when l.kind = 'AlertDelivered' then 'sent'
                            when l.next_attempt_at is null then 'failed' else 'pending' end,
              attempts = l.attempts, last_attempt_at = l.at,
              sent_at = case when l.kind = 'AlertDelivered' then l.at else q.sent_at end,
              last_error = case when l.kind = 'AlertDelivered' then null else l.error end,
              next_attempt_at = coalesce(l.last_next_attempt_at, q.next_attempt_at),
              claimed_until = null, claimed_by = null, payload = coalesce(l.payload, 'null'::jsonb)
         from (
           select distinct on (a.id) a.*,
                  first_value(a.next_attempt_at) over (
                    partition by a.id
                    order by (a.kind = 'AlertDeliveryFailed' and a.next_attempt_at is not null) desc,
                             a.tx desc, a.pos desc) as last_next_attempt_at
             from (select (e.data->>'intent_key') || '@' || (e.data->>'target') as id, e.event_type as kind,
                          (e.data->>'attempts')::int as attempts, (e.data->>'at')::timestamptz as at,
                          e.data->>'error' as error,
                          (e.data->>'next_attempt_at')::timestamptz as next_attempt_at,
                          e.data->'payload' as payload, e.transaction_id as tx, e.global_position as pos
                     from es_events e
                    where ${inRange.text}) a
             join alert_queue b on b.id = a.id
            where (a.kind = 'AlertDelivered' and b.attempts <= a.attempts and b.status <> 'sent')
               or (a.kind = 'AlertDeliveryFailed' and b.attempts < a.attempts and b.status = 'pending')
            order by a.id, a.tx desc, a.pos desc) l
        where q.id = l.id`,
    values: inRange.values,
  };
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
