import type { BreakerDetails } from './breakerCommands';
import type { Severity, TripTrigger } from './breakerEvents';

/** The public fields of a breaker, exactly as the API shows them (docs/api.md "Breakers"). */
export interface BreakerSnapshot {
  /** true = V2 disabled. */
  readonly open: boolean;
  readonly disabled_by: string | null;
  readonly disabled_reason: string | null;
  /** ISO; null = until enabled by hand (or closed). */
  readonly disabled_until: string | null;
  readonly incident_id: string | null;
  readonly consecutive_failures: number;
  /** time of the last drift report that counted as a failure; kept after the breaker closes. */
  readonly last_failure_at: string | null;
  /** when the current opening began; null while closed. */
  readonly opened_at: string | null;
  /** time of the last event applied (any event, so it moves with `version`). */
  readonly updated_at: string | null;
  /** number of events applied = the stream version (ETag). */
  readonly version: number;
}

/** The incident opened by the current trip, kept so handlers can answer `incident` without a read model. */
export interface OpenIncident {
  readonly id: string;
  readonly timestamp: string;
  readonly severity: Severity;
  readonly trigger: TripTrigger;
  /** the trip's reason (an amendment changes `disabled_reason`, not the incident's original reason). */
  readonly reason: string;
  readonly drift_score: number;
  readonly sample_count: number;
  readonly details: BreakerDetails;
}

/** Aggregate state: the snapshot plus what `decide` needs that the API does not show. */
export interface BreakerState extends BreakerSnapshot {
  /** TTL of the current disable (0 = until enabled); null when an explicit disabled_until was given. */
  readonly ttl_hours: number | null;
  readonly incident: OpenIncident | null;
  /**
   * Schema errors reported below the threshold since the last drift observation or trip (docs/domain.md §3):
   * the reports add up, and the sum trips the breaker once it reaches the threshold. Absent in state
   * stored before it existed (read as 0).
   */
  readonly consecutive_schema_errors: number;
  /**
   * Consecutive failed canary runs since the last pass or trip, and their run ids (the trip reason names
   * them). Absent in state stored before they existed (read as 0 / []).
   */
  readonly consecutive_canary_failures: number;
  readonly canary_failed_runs: readonly string[];
  /**
   * Recovery gate: the TTL passed and the breaker waits for a canary run. Still open (V2 off: the gate
   * fails closed). Absent in state stored before it existed (read as false).
   */
  readonly half_open: boolean;
}

export const initialBreakerState = (): BreakerState => ({
  open: false,
  disabled_by: null,
  disabled_reason: null,
  disabled_until: null,
  incident_id: null,
  consecutive_failures: 0,
  last_failure_at: null,
  opened_at: null,
  updated_at: null,
  version: 0,
  ttl_hours: null,
  incident: null,
  consecutive_schema_errors: 0,
  consecutive_canary_failures: 0,
  canary_failed_runs: [],
  half_open: false,
});

/** Only the public fields, e.g. for the API or a read model row. */
export const toSnapshot = (state: BreakerSnapshot): BreakerSnapshot => ({
  open: state.open,
  disabled_by: state.disabled_by,
  disabled_reason: state.disabled_reason,
  disabled_until: state.disabled_until,
  incident_id: state.incident_id,
  consecutive_failures: state.consecutive_failures,
  last_failure_at: state.last_failure_at,
  opened_at: state.opened_at,
  updated_at: state.updated_at,
  version: state.version,
});
