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

/** What every breaker has, open or closed: counters and the stream position. */
interface BreakerCommon {
  readonly consecutive_failures: number;
  /** time of the last drift report that counted as a failure; kept after the breaker closes. */
  readonly last_failure_at: string | null;
  /** time of the last event applied (any event, so it moves with `version`). */
  readonly updated_at: string | null;
  /** number of events applied = the stream version (ETag). */
  readonly version: number;
  /**
   * Schema errors reported below the threshold since the last drift observation or trip (docs/domain.md §3):
   * the reports add up, and the sum trips the breaker once it reaches the threshold.
   */
  readonly consecutive_schema_errors: number;
  /** Consecutive failed canary runs since the last pass or trip, and their run ids (the trip reason names them). */
  readonly consecutive_canary_failures: number;
  readonly canary_failed_runs: readonly string[];
}

/**
 * Closed: V2 runs. The open-only fields are present and `null` (`half_open` false) because this object is
 * also the stored form (cb_state.state, snapshots) and the API's field set; the types say they hold
 * nothing, so code reading them has to narrow on `open` first.
 */
export interface ClosedBreaker extends BreakerCommon {
  readonly open: false;
  readonly disabled_by: null;
  readonly disabled_reason: null;
  readonly disabled_until: null;
  readonly ttl_hours: null;
  readonly incident_id: null;
  readonly incident: null;
  readonly opened_at: null;
  readonly half_open: false;
}

/** Open: V2 off, one incident, a disable window. */
export interface OpenBreaker extends BreakerCommon {
  readonly open: true;
  readonly disabled_by: string;
  readonly disabled_reason: string;
  /** ISO; null = until enabled by hand. */
  readonly disabled_until: string | null;
  /** TTL of the current disable (0 = until enabled); null when an explicit disabled_until was given. */
  readonly ttl_hours: number | null;
  readonly incident_id: string;
  readonly incident: OpenIncident;
  /** when the current opening began. */
  readonly opened_at: string;
  /**
   * Recovery gate (a sub-state of open): the TTL passed and the breaker waits for a canary run. Still
   * open (V2 off: the gate fails closed).
   */
  readonly half_open: boolean;
}

/** Aggregate state: what `decide` needs, the API view being a function of it (`toSnapshot`). */
export type BreakerState = ClosedBreaker | OpenBreaker;

/** The fields a closing resets (and a fresh breaker starts with). */
export const CLOSED_FIELDS = Object.freeze({
  open: false,
  disabled_by: null,
  disabled_reason: null,
  disabled_until: null,
  ttl_hours: null,
  incident_id: null,
  incident: null,
  opened_at: null,
  half_open: false,
} as const);

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

/**
 * The one function from a state to the API's breaker fields (docs/api.md "Breakers"), in the documented
 * field order (responses are compared byte for byte). Takes a snapshot too (the read path passes those on).
 */
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
