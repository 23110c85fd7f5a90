import { type BreakerSnapshot, type BreakerState, type RecoveryPolicy, stateAt } from '../../domain/breaker';

/** A breaker as the API shows it (docs/api.md "Breakers"). */
export interface BreakerStateView extends BreakerSnapshot {
  name: string;
  tenant_id: string | null;
}

export interface IncidentView {
  id: string;
  breaker: string;
  tenant_id: string | null;
  timestamp: string;
  reason: string;
  severity: string;
  drift_score: number | null;
  sample_count: number | null;
  details: Record<string, unknown>;
  resolved: boolean;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution_notes: string | null;
  alert_sent: boolean;
  alert_sent_at: string | null;
}

/** The effective state at `now`: an expired TTL reads closed before its recovery is written. */
export function breakerStateView(
  name: string,
  tenantId: string | null,
  state: BreakerState | BreakerSnapshot,
  now: Date,
  policy: RecoveryPolicy,
): BreakerStateView {
  const { recovery_pending: _pending, ...view } = stateAt(state, now, policy);
  return { name, tenant_id: tenantId, ...view };
}

/** The open incident as the aggregate knows it (command responses answer from the write side). */
export function openIncidentView(
  name: string,
  tenantId: string | null,
  state: BreakerState,
): IncidentView | null {
  const incident = state.incident;
  if (!incident) return null;
  return unresolvedIncidentView({
    id: incident.id,
    breaker: name,
    tenant_id: tenantId,
    timestamp: incident.timestamp,
    reason: incident.reason,
    severity: incident.severity,
    drift_score: incident.drift_score,
    sample_count: incident.sample_count,
    details: { ...incident.details },
  });
}

/** The trip's facts as the incident view of a breaker that is still open (nothing resolved or sent yet). */
export function unresolvedIncidentView(
  trip: Omit<
    IncidentView,
    'resolved' | 'resolved_at' | 'resolved_by' | 'resolution_notes' | 'alert_sent' | 'alert_sent_at'
  >,
): IncidentView {
  return {
    ...trip,
    resolved: false,
    resolved_at: null,
    resolved_by: null,
    resolution_notes: null,
    alert_sent: false,
    alert_sent_at: null,
  };
}
