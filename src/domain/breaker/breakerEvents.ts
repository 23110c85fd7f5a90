import { type DomainEvent, eventTypeList } from '../decider';
import type { CanaryRunStatus } from '../canary/canaryReport';
import type { BreakerDetails } from './breakerCommands';

/**
 * Breaker events. Data is persisted as JSON and shown by the history route, so field names are
 * snake_case, and every event carries its `actor`, its time `at` (ISO, UTC) and the inputs that decided it
 * (score, thresholds, counter before/after), so any transition can be explained from the event alone.
 */

/** Every severity and trigger, as values (metrics start a series for each) and as the types derived from them. */
export const severities = ['P1', 'P2', 'P3'] as const;
export type Severity = (typeof severities)[number];
export const tripTriggers = ['manual', 'drift', 'schema_errors', 'canary'] as const;
export type TripTrigger = (typeof tripTriggers)[number];

/** `disabled_by` of automatic trips; the status route reports these as "disabled by drift". */
export const CIRCUIT_BREAKER_ACTOR = 'circuit_breaker';
export const AUTO_RECOVER_ACTOR = 'system-auto-recover';
export const AUTO_RECOVER_NOTES = 'Auto-recovered after TTL expired';
export const MANUAL_RESET_NOTES = 'Manual reset';
/** `resolved_by` of a recovery the canary decided (recovery gate). */
export const CANARY_RECOVERY_ACTOR = 'canary-recovery';
/** `actor` of the canary's run reports (ReportCanaryRun). */
export const CANARY_ACTOR = 'canary';
/** `actor` (and `actor_key`) of the shadow simulation's drift and schema-error reports and provenance. */
export const SANDBOX_ACTOR = 'sandbox';

interface Stamped {
  readonly actor: string;
  readonly at: string;
}

/** The breaker opened and incident `incident_id` began. */
export interface BreakerTrippedData extends Stamped {
  readonly incident_id: string;
  readonly severity: Severity;
  readonly trigger: TripTrigger;
  readonly reason: string;
  readonly disabled_by: string;
  /** null = until enabled by hand. */
  readonly disabled_until: string | null;
  /** TTL the window was computed from (given or policy default; 0 = until enabled); null when an explicit disabled_until was given. */
  readonly ttl_hours: number | null;
  /** drift: the score; schema errors: 1.0; manual: 0 (as in the original's incidents). */
  readonly drift_score: number;
  /** drift: the report's sample_count; schema errors: error_count; manual and canary: 0. */
  readonly sample_count: number;
  /** drift: drift threshold; schema errors: schema-error threshold; manual: null. */
  readonly threshold: number | null;
  /** drift: consecutive failures needed to trip; canary: consecutive failed runs needed. */
  readonly failure_threshold: number | null;
  /** schema errors only: the count that tripped (the report's, or the running sum it completed). */
  readonly error_count: number | null;
  readonly failures_before: number;
  /** always 0: a trip resets the counter. */
  readonly failures_after: number;
  readonly details: BreakerDetails;
}

/** A disable while open with a different reason or TTL: amends the current disable, same incident. */
export interface BreakerDisableAmendedData extends Stamped {
  readonly incident_id: string;
  readonly reason: string;
  readonly previous_reason: string | null;
  readonly disabled_until: string | null;
  readonly previous_disabled_until: string | null;
  readonly ttl_hours: number | null;
  readonly previous_ttl_hours: number | null;
}

/** Closed by hand; the incident is resolved by the actor. */
export interface BreakerEnabledData extends Stamped {
  readonly incident_id: string | null;
  readonly resolved_by: string;
  readonly resolution_notes: string;
  /** the reason the caller gave, null if none. */
  readonly reason: string | null;
  readonly previous_reason: string | null;
  readonly failures_before: number;
}

/** Closed because the TTL passed (policy autoRecover); recorded exactly once per incident. */
export interface BreakerAutoRecoveredData extends Stamped {
  readonly incident_id: string | null;
  readonly resolved_by: typeof AUTO_RECOVER_ACTOR;
  readonly resolution_notes: typeof AUTO_RECOVER_NOTES;
  /** the TTL that expired (the breaker has read closed since then). */
  readonly expired_at: string;
  readonly previous_reason: string | null;
  readonly failures_before: number;
}

/** One drift report. Always recorded; counting is suspended while the breaker is open. */
export interface DriftObservedData extends Stamped {
  readonly drift_score: number;
  readonly threshold: number;
  readonly failure_threshold: number;
  readonly sample_count: number;
  readonly details: BreakerDetails;
  /** drift_score > threshold (strictly). */
  readonly exceeded: boolean;
  /** whether this report moved the counter (false while open). */
  readonly counted: boolean;
  readonly failures_before: number;
  readonly failures_after: number;
  readonly breaker_open: boolean;
}

/** One schema-error report. Always recorded; trips (separate event) only when closed and at threshold. */
export interface SchemaErrorsReportedData extends Stamped {
  readonly error_count: number;
  readonly threshold: number;
  readonly details: BreakerDetails;
  /** error_count >= threshold, or the running sum reached it. */
  readonly exceeded: boolean;
  readonly breaker_open: boolean;
  /** consecutive_schema_errors before and after this report (docs/domain.md §3: reports add up while closed). */
  readonly errors_before: number;
  readonly errors_after: number;
}

/**
 * Drift reached the failure threshold while autoDisable is off: no trip, a P2 alert instead. The counter
 * resets to 0 just as a trip would, so the alert fires once per `failure_threshold` consecutive bad reports
 * instead of on every report after the third (an alert storm), and the counter keeps meaning "failures
 * since the last trip or suppressed trip".
 */
export interface DriftTripSuppressedData extends Stamped {
  readonly severity: 'P2';
  readonly reason: string;
  readonly drift_score: number;
  readonly threshold: number;
  readonly failure_threshold: number;
  readonly sample_count: number;
  readonly details: BreakerDetails;
  readonly failures_before: number;
  /** always 0 */
  readonly failures_after: number;
}

/**
 * One completed canary run reported to the breaker (docs/domain.md §6 fixes: its own threshold, KL and per-sample
 * drift being different scales). A `fail` counts, a `pass` resets the canary counter, `skipped` and `error`
 * are inconclusive (recorded, nothing changes). The drift counter is never touched, so a canary that fails
 * on outliers alone cannot reset it.
 */
export interface CanaryRunObservedData extends Stamped {
  readonly run_id: string;
  readonly status: CanaryRunStatus;
  readonly failed_on_outliers_only: boolean;
  /** COSTSIM_CANARY_FAILURE_THRESHOLD */
  readonly failure_threshold: number;
  /** whether this run moved the canary counter (false while open, or inconclusive) */
  readonly counted: boolean;
  readonly failures_before: number;
  readonly failures_after: number;
  /** the run ids of the consecutive failures, this one included (empty after a pass) */
  readonly failed_runs_after: readonly string[];
  readonly breaker_open: boolean;
}

/**
 * The recovery gate (COSTSIM_RECOVERY_REQUIRES_CANARY): the TTL passed, and instead of closing the breaker
 * went half-open — still open (V2 off), waiting for a canary run to decide.
 */
export interface BreakerHalfOpenedData extends Stamped {
  readonly incident_id: string | null;
  /** the TTL that expired */
  readonly expired_at: string;
  readonly reason: string;
}

/** A canary run that did not pass while half-open: the breaker stays open, its TTL extended. */
export interface BreakerRecoveryDeferredData extends Stamped {
  readonly incident_id: string | null;
  readonly run_id: string;
  readonly run_status: Exclude<CanaryRunStatus, 'pass'>;
  readonly reason: string;
  readonly previous_disabled_until: string | null;
  readonly disabled_until: string;
  /** COSTSIM_DISABLE_TTL_HOURS, the extension */
  readonly ttl_hours: number;
}

export type BreakerTripped = DomainEvent<'BreakerTripped', BreakerTrippedData>;
export type BreakerDisableAmended = DomainEvent<'BreakerDisableAmended', BreakerDisableAmendedData>;
export type BreakerEnabled = DomainEvent<'BreakerEnabled', BreakerEnabledData>;
export type BreakerAutoRecovered = DomainEvent<'BreakerAutoRecovered', BreakerAutoRecoveredData>;
export type DriftObserved = DomainEvent<'DriftObserved', DriftObservedData>;
export type SchemaErrorsReported = DomainEvent<'SchemaErrorsReported', SchemaErrorsReportedData>;
export type DriftTripSuppressed = DomainEvent<'DriftTripSuppressed', DriftTripSuppressedData>;
export type CanaryRunObserved = DomainEvent<'CanaryRunObserved', CanaryRunObservedData>;
export type BreakerHalfOpened = DomainEvent<'BreakerHalfOpened', BreakerHalfOpenedData>;
export type BreakerRecoveryDeferred = DomainEvent<'BreakerRecoveryDeferred', BreakerRecoveryDeferredData>;

export type BreakerEvent =
  | BreakerTripped
  | BreakerDisableAmended
  | BreakerEnabled
  | BreakerAutoRecovered
  | DriftObserved
  | SchemaErrorsReported
  | DriftTripSuppressed
  | CanaryRunObserved
  | BreakerHalfOpened
  | BreakerRecoveryDeferred;

export type BreakerEventType = BreakerEvent['type'];

/** Derived from the union: a new event type that is not listed here does not compile. */
export const breakerEventTypes = eventTypeList<BreakerEventType>({
  BreakerTripped: true,
  BreakerDisableAmended: true,
  BreakerEnabled: true,
  BreakerAutoRecovered: true,
  DriftObserved: true,
  SchemaErrorsReported: true,
  DriftTripSuppressed: true,
  CanaryRunObserved: true,
  BreakerHalfOpened: true,
  BreakerRecoveryDeferred: true,
});

export const isBreakerEvent = (event: { type: string }): event is BreakerEvent =>
  (breakerEventTypes as readonly string[]).includes(event.type);
