import type { BreakerTrippedData, DriftTripSuppressedData, Severity } from '../breaker/breakerEvents';
import type { AlertmanagerAlert } from './alertmanagerAlert';
import { runbookUrl } from './runbooks';

/** Where the alerts come from and where an operator looks (configuration, not domain state). */
export interface AlertSource {
  /** `instance` label of alerts opened by this service (stable per incident: recorded with the trip). */
  instance: string;
  /** Base URL of this service as operators reach it; generatorURL points at the breaker's state there. */
  publicUrl: string;
  /** Base of the runbooks (ending in "/") or one page for every alert: see runbookUrl(). */
  runbookUrl: string;
}

export interface BreakerRef {
  name: string;
  tenant_id: string | null;
}

/**
 * The firing alert of one incident, as first sent. Its labels identify the incident in Alertmanager and
 * never change for it (re-assertions and the resolve re-send exactly these); text that varies goes in
 * annotations.
 */
export interface FiringBreakerAlert {
  readonly incident_id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly generatorURL: string;
}

const severityLabel = (severity: Severity) => severity.toLowerCase();

function stateUrl(source: AlertSource, ref: BreakerRef): string {
  const base = source.publicUrl.replace(/\/+$/, '');
  const query = ref.tenant_id === null ? '' : `?tenant_id=${encodeURIComponent(ref.tenant_id)}`;
  return `${base}/costsim/breakers/${encodeURIComponent(ref.name)}${query}`;
}

/** docs/domain.md §4: "CostSimV2Disabled" with the incident's severity, and a description an on-call can act on. */
export function firingBreakerAlert(
  ref: BreakerRef,
  trip: BreakerTrippedData,
  source: AlertSource,
): FiringBreakerAlert {
  const labels: Record<string, string> = {
    alertname: 'CostSimV2Disabled',
    severity: severityLabel(trip.severity),
    component: 'costsim',
    circuit_breaker: ref.name,
    ...(ref.tenant_id !== null ? { tenant_id: ref.tenant_id } : {}),
    instance: source.instance,
  };
  const until =
    trip.disabled_until === null ? 'manual reset required' : `disabled until ${trip.disabled_until}`;
  return {
    incident_id: trip.incident_id,
    labels,
    annotations: {
      summary: `CostSim V2 circuit breaker tripped (${trip.severity})`,
      description:
        `${trip.reason}. Drift score ${trip.drift_score}, sample count ${trip.sample_count}; ${until}.` +
        (ref.tenant_id !== null ? ` Tenant ${ref.tenant_id}.` : ''),
      runbook_url: runbookUrl(source.runbookUrl, 'breaker-tripped'),
      incident_id: trip.incident_id,
    },
    startsAt: trip.at,
    generatorURL: stateUrl(source, ref),
  };
}

/**
 * The firing alert as sent now: Alertmanager forgets an alert whose endsAt passes, so while the breaker is
 * open it is re-asserted every `resendIntervalSeconds` with endsAt four intervals ahead (a few missed
 * re-assertions do not resolve it; a dead service lets it lapse).
 */
export function assertFiring(
  firing: FiringBreakerAlert,
  now: Date,
  resendIntervalSeconds: number,
): AlertmanagerAlert {
  return {
    labels: firing.labels,
    annotations: firing.annotations,
    startsAt: firing.startsAt,
    endsAt: new Date(now.getTime() + 4 * resendIntervalSeconds * 1000).toISOString(),
    generatorURL: firing.generatorURL,
  };
}

/** docs/domain.md §4: the informational "re-enabled" alert is active for five minutes from its send. */
export const REENABLED_ALERT_MS = 5 * 60 * 1000;

/**
 * Breaker closed: the same labels with endsAt = the closing time resolve the firing alert, and an
 * informational CostSimV2Reenabled alert says who closed it and why. That one starts when it is sent
 * (`now`) and ends five minutes later: Alertmanager never notifies an alert that arrives already resolved,
 * so startsAt = endsAt (or a late delivery stamped with the closing time) would be dropped silently. It is
 * never re-asserted; it lapses by itself.
 */
export function resolvedBreakerAlerts(
  ref: BreakerRef,
  firing: FiringBreakerAlert,
  closed: { at: string; resolved_by: string; resolution_notes: string },
  source: AlertSource,
  now: Date,
): AlertmanagerAlert[] {
  return [
    {
      labels: firing.labels,
      annotations: firing.annotations,
      startsAt: firing.startsAt,
      endsAt: closed.at,
      generatorURL: firing.generatorURL,
    },
    {
      labels: {
        alertname: 'CostSimV2Reenabled',
        severity: 'info',
        component: 'costsim',
        circuit_breaker: ref.name,
        ...(ref.tenant_id !== null ? { tenant_id: ref.tenant_id } : {}),
        instance: firing.labels.instance ?? source.instance,
      },
      annotations: {
        summary: 'CostSim V2 re-enabled',
        description: `Re-enabled by ${closed.resolved_by} at ${closed.at}: ${closed.resolution_notes}`,
        incident_id: firing.incident_id,
        reenabled_at: closed.at,
      },
      startsAt: now.toISOString(),
      endsAt: new Date(now.getTime() + REENABLED_ALERT_MS).toISOString(),
      generatorURL: stateUrl(source, ref),
    },
  ];
}

/**
 * docs/domain.md §3: with COSTSIM_V2_AUTO_DISABLE=false, drift that would have tripped the breaker alerts P2
 * instead. Nothing closes it later, so it is a transient alert: it lapses four resend intervals after the
 * drift was seen.
 */
export function driftWarningAlert(
  ref: BreakerRef,
  drift: DriftTripSuppressedData,
  instance: string,
  source: AlertSource,
  resendIntervalSeconds: number,
): AlertmanagerAlert {
  return {
    labels: {
      alertname: 'CostSimV2DriftWarning',
      severity: severityLabel(drift.severity),
      component: 'costsim',
      circuit_breaker: ref.name,
      ...(ref.tenant_id !== null ? { tenant_id: ref.tenant_id } : {}),
      instance,
    },
    annotations: {
      summary: `CostSim V2 drift over threshold, auto-disable is off (${drift.severity})`,
      description:
        `${drift.reason}. ${drift.failures_before + 1} consecutive reports over ${drift.threshold}; ` +
        `the breaker was not tripped because COSTSIM_V2_AUTO_DISABLE=false.`,
      runbook_url: runbookUrl(source.runbookUrl, 'breaker-tripped'),
    },
    startsAt: drift.at,
    endsAt: new Date(Date.parse(drift.at) + 4 * resendIntervalSeconds * 1000).toISOString(),
    generatorURL: stateUrl(source, ref),
  };
}

/** docs/domain.md §4: the next attempt after a failed send waits min(2^attempts, 300) seconds. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(2 ** Math.max(0, attempts), 300);
}
