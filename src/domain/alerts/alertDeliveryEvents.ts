import { type DomainEvent, eventTypeList } from '../decider';
import type { AlertmanagerAlert } from './alertmanagerAlert';

/**
 * Outcomes of alert deliveries, one stream per queue row (`alert_delivery-<row id>`). They are what makes
 * the outbox rebuildable: alert_queue replayed from events knows which sends already happened.
 */
export interface AlertDeliveryOutcome {
  readonly row_id: string;
  readonly intent_key: string;
  readonly alert_type: string;
  readonly incident_id: string | null;
  readonly target: string;
  /** attempts made so far, this one included. */
  readonly attempts: number;
  readonly at: string;
  /** the alerts as sent (rendered at send time), null when rendering failed. */
  readonly payload: readonly AlertmanagerAlert[] | null;
}

export type AlertDelivered = DomainEvent<'AlertDelivered', AlertDeliveryOutcome>;
export type AlertDeliveryFailed = DomainEvent<
  'AlertDeliveryFailed',
  AlertDeliveryOutcome & {
    readonly error: string;
    /** null when no attempt is left (status failed). */
    readonly next_attempt_at: string | null;
  }
>;
/**
 * Intents were routed to the Alertmanagers configured at the time (every alert goes to every one). As an
 * event, so that a rebuild does not route (and send) again what was routed, delivered and purged long ago.
 * One event per routing batch, in the stream ALERT_ROUTING_STREAM.
 */
export type AlertRouted = DomainEvent<
  'AlertRouted',
  { readonly intent_keys: readonly string[]; readonly targets: readonly string[]; readonly at: string }
>;
export const ALERT_ROUTING_STREAM = 'alert_routing';
export type AlertDeliveryEvent = AlertDelivered | AlertDeliveryFailed | AlertRouted;

export const alertDeliveryEventTypes = eventTypeList<AlertDeliveryEvent['type']>({
  AlertRouted: true,
  AlertDelivered: true,
  AlertDeliveryFailed: true,
});

export const alertDeliveryStream = (rowId: string) => `alert_delivery-${rowId}`;

/** A routed row: one intent sent to one Alertmanager. */
export const routedRowId = (intentKey: string, target: string) => `${intentKey}@${target}`;

/** Operators put failed rows back in the queue with more attempts (docs/domain.md §4 "retry failed"). */
export type AlertsRetried = DomainEvent<
  'AlertsRetried',
  {
    /** each row with its new max_attempts (absolute, so applying the event twice changes nothing). */
    readonly rows: ReadonlyArray<{ readonly id: string; readonly max_attempts: number }>;
    readonly extra_attempts: number;
    readonly actor: string;
    readonly at: string;
  }
>;
/** Operators delete delivered/failed rows older than `before` (docs/domain.md §4 "purge"). */
export type AlertsPurged = DomainEvent<
  'AlertsPurged',
  {
    readonly before: string;
    readonly statuses: readonly string[];
    readonly actor: string;
    readonly at: string;
  }
>;
export type AlertAdminEvent = AlertsRetried | AlertsPurged;
export const alertAdminEventTypes = eventTypeList<AlertAdminEvent['type']>({
  AlertsRetried: true,
  AlertsPurged: true,
});
/** One stream for operator actions on the queue: they are rare, and their order matters on replay. */
export const ALERT_ADMIN_STREAM = 'alert_admin';
