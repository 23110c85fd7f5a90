import type { BreakerTrippedData, DriftTripSuppressedData } from '../breaker/breakerEvents';
import type { AlertmanagerAlert } from './alertmanagerAlert';
import {
  type AlertSource,
  assertFiring,
  driftWarningAlert,
  firingBreakerAlert,
  resolvedBreakerAlerts,
} from './breakerAlerts';

/** The facts an incident's alerts are rendered from (alert_firing). */
export interface IncidentAlertFacts {
  readonly breaker: string;
  readonly tenant_id: string | null;
  readonly instance: string;
  readonly trip: BreakerTrippedData;
  /** set once the breaker closed */
  readonly closed: { at: string; resolved_by: string; resolution_notes: string } | null;
}

/** The facts of an alert that belongs to no incident (a drift warning), kept on its queue row. */
export interface DriftWarningFacts {
  readonly breaker: string;
  readonly tenant_id: string | null;
  readonly instance: string;
  readonly drift: DriftTripSuppressedData;
}

/** Renders a `drift_warning` intent. */
export function renderDriftWarning(
  facts: DriftWarningFacts,
  source: AlertSource,
  resendIntervalSeconds: number,
): AlertmanagerAlert[] {
  const ref = { name: facts.breaker, tenant_id: facts.tenant_id };
  return [driftWarningAlert(ref, facts.drift, facts.instance, source, resendIntervalSeconds)];
}

/**
 * What a queued intent sends, rendered at send time from the incident's current facts: a `disable` for an
 * incident that has closed meanwhile goes out already resolved (endsAt = closing time) instead of raising
 * a zombie alert; an `enable` resolves with the labels the firing alert had.
 */
export function renderQueuedAlert(
  alertType: string,
  facts: IncidentAlertFacts,
  source: AlertSource,
  now: Date,
  resendIntervalSeconds: number,
): AlertmanagerAlert[] {
  const ref = { name: facts.breaker, tenant_id: facts.tenant_id };
  const firing = firingBreakerAlert(ref, facts.trip, { ...source, instance: facts.instance });
  if (alertType === 'disable') {
    const alert = assertFiring(firing, now, resendIntervalSeconds);
    return [facts.closed ? { ...alert, endsAt: facts.closed.at } : alert];
  }
  if (alertType === 'enable' && facts.closed)
    return resolvedBreakerAlerts(ref, firing, facts.closed, source, now);
  throw new Error(`cannot render a ${alertType} alert for incident ${facts.trip.incident_id}`);
}
