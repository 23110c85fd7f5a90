import {
  AUTO_RECOVER_ACTOR,
  AUTO_RECOVER_NOTES,
  CANARY_RECOVERY_ACTOR,
  CIRCUIT_BREAKER_ACTOR,
  MANUAL_RESET_NOTES,
  type BreakerEvent,
  type BreakerTrippedData,
} from './breakerEvents';
import { evolveBreaker } from './breakerEvolve';
import type { BreakerPolicy } from './breakerPolicy';
import {
  HALF_OPEN_REASON,
  canaryRecoveredNotes,
  canaryTripReason,
  driftTripReason,
  driftTripSuppressedReason,
  recoveryDeferredReason,
  schemaTripReason,
} from './breakerReasons';
import type { BreakerState, OpenBreaker } from './breakerState';
import { msOf } from './breakerTime';
import type { ValidCommand } from './breakerCommands';
import { isHalfOpenDue, isRecoveryDue } from './breakerView';
import { disableWindow } from './breakerWindow';

type Valid<T extends ValidCommand['type']> = Extract<ValidCommand, { type: T }>;

/**
 * Decides a validated command in three steps, each decided against the state the previous one produced:
 *  1. if the breaker is open with an expired TTL (and the policy auto-recovers), record the recovery
 *     first: the read path already reports it closed, so the command must be decided against that state,
 *     and the recovery lands in the stream exactly once, before the command's own events;
 *  2. the command's own rule;
 *  3. if step 2 opened or amended a disable whose TTL has already passed (a past `disabled_until` is
 *     accepted), record the recovery in the same write, so the state the command returns agrees with
 *     what readers see.
 */
export function decideValid(
  policy: BreakerPolicy,
  command: ValidCommand,
  initial: BreakerState,
): BreakerEvent[] {
  const events: BreakerEvent[] = [];
  let state = initial;
  const emit = (produced: readonly BreakerEvent[]): void => {
    for (const event of produced) {
      events.push(event);
      state = evolveBreaker(state, event);
    }
  };
  emit(recoverIfDue(policy, state, command.now));
  emit(halfOpenIfDue(policy, state, command.now));
  emit(decideRule(policy, command, state));
  emit(recoverIfDue(policy, state, command.now));
  emit(halfOpenIfDue(policy, state, command.now));
  return events;
}

function decideRule(policy: BreakerPolicy, command: ValidCommand, state: BreakerState): BreakerEvent[] {
  switch (command.type) {
    case 'DisableBreaker':
      return state.open ? amendDisable(policy, command, state) : manualTrip(policy, command, state);
    case 'EnableBreaker':
      return enable(command, state);
    case 'ReportDrift':
      return reportDrift(policy, command, state);
    case 'ReportSchemaErrors':
      return reportSchemaErrors(policy, command, state);
    case 'ReportCanaryRun':
      return reportCanaryRun(policy, command, state);
    case 'RecoverExpiredBreaker':
      return []; // step 1 already did all there is to do
  }
}

function recoverIfDue(policy: BreakerPolicy, state: BreakerState, now: string): BreakerEvent[] {
  if (!state.open || !isRecoveryDue(state, now, policy) || state.disabled_until === null) return [];
  return [
    {
      type: 'BreakerAutoRecovered',
      data: {
        incident_id: state.incident_id,
        resolved_by: AUTO_RECOVER_ACTOR,
        resolution_notes: AUTO_RECOVER_NOTES,
        expired_at: state.disabled_until,
        previous_reason: state.disabled_reason,
        failures_before: state.consecutive_failures,
        actor: AUTO_RECOVER_ACTOR,
        at: now,
      },
    },
  ];
}

/** Recovery gate: an expired TTL half-opens the breaker (still open) once; a canary run decides the rest. */
function halfOpenIfDue(policy: BreakerPolicy, state: BreakerState, now: string): BreakerEvent[] {
  if (!state.open || !isHalfOpenDue(state, now, policy) || state.disabled_until === null) return [];
  return [
    {
      type: 'BreakerHalfOpened',
      data: {
        incident_id: state.incident_id,
        expired_at: state.disabled_until,
        reason: HALF_OPEN_REASON,
        actor: AUTO_RECOVER_ACTOR,
        at: now,
      },
    },
  ];
}

/**
 * A canary run while half-open decides the recovery: a pass closes the breaker (the incident resolved by
 * canary-recovery), anything else keeps it open with the TTL extended by COSTSIM_DISABLE_TTL_HOURS.
 */
function decideHalfOpen(
  policy: BreakerPolicy,
  command: Valid<'ReportCanaryRun'>,
  state: OpenBreaker,
): BreakerEvent[] {
  const { run_id, status, now } = command;
  if (status === 'pass') {
    const notes = canaryRecoveredNotes(run_id);
    return [
      {
        type: 'BreakerEnabled',
        data: {
          incident_id: state.incident_id,
          resolved_by: CANARY_RECOVERY_ACTOR,
          resolution_notes: notes,
          reason: notes,
          previous_reason: state.disabled_reason,
          failures_before: state.consecutive_failures,
          actor: CANARY_RECOVERY_ACTOR,
          at: now,
        },
      },
    ];
  }
  const ttl = policy.disableTtlHours;
  const until = new Date(msOf(now) + ttl * 3_600_000).toISOString();
  return [
    {
      type: 'BreakerRecoveryDeferred',
      data: {
        incident_id: state.incident_id,
        run_id,
        run_status: status,
        reason: recoveryDeferredReason(run_id, status, until),
        previous_disabled_until: state.disabled_until,
        disabled_until: until,
        ttl_hours: ttl,
        actor: CANARY_RECOVERY_ACTOR,
        at: now,
      },
    },
  ];
}

function manualTrip(
  policy: BreakerPolicy,
  command: Valid<'DisableBreaker'>,
  state: BreakerState,
): BreakerEvent[] {
  return [
    tripped({
      ...disableWindow(command.now, command, policy),
      incident_id: command.incident_id,
      severity: 'P2',
      trigger: 'manual',
      reason: command.reason,
      disabled_by: command.actor,
      drift_score: 0,
      sample_count: 0,
      threshold: null,
      failure_threshold: null,
      error_count: null,
      failures_before: state.consecutive_failures,
      failures_after: 0,
      details: { manual_disable: true },
      actor: command.actor,
      at: command.now,
    }),
  ];
}

/**
 * Disable while open never opens a second incident. Same reason and no TTL (or the same TTL / the same
 * disabled_until) → nothing to record; otherwise amend the reason and, if one was given, the TTL (counted
 * from now). `disabled_by` stays whoever opened the incident: the status route's "disabled by drift" is
 * about why the breaker opened.
 */
function amendDisable(
  policy: BreakerPolicy,
  command: Valid<'DisableBreaker'>,
  state: OpenBreaker,
): BreakerEvent[] {
  const ttlGiven = command.ttl_hours !== null || command.disabled_until !== null;
  const sameTtl =
    !ttlGiven ||
    (command.ttl_hours !== null && command.ttl_hours === state.ttl_hours) ||
    (command.disabled_until !== null &&
      state.disabled_until !== null &&
      msOf(command.disabled_until) === msOf(state.disabled_until));
  if (command.reason === state.disabled_reason && sameTtl) return [];

  const window = ttlGiven
    ? disableWindow(command.now, command, policy)
    : { disabled_until: state.disabled_until, ttl_hours: state.ttl_hours };
  return [
    {
      type: 'BreakerDisableAmended',
      data: {
        incident_id: state.incident_id,
        reason: command.reason,
        previous_reason: state.disabled_reason,
        disabled_until: window.disabled_until,
        previous_disabled_until: state.disabled_until,
        ttl_hours: window.ttl_hours,
        previous_ttl_hours: state.ttl_hours,
        actor: command.actor,
        at: command.now,
      },
    },
  ];
}

function enable(command: Valid<'EnableBreaker'>, state: BreakerState): BreakerEvent[] {
  if (!state.open) return [];
  return [
    {
      type: 'BreakerEnabled',
      data: {
        incident_id: state.incident_id,
        resolved_by: command.actor,
        resolution_notes: command.reason ?? MANUAL_RESET_NOTES,
        reason: command.reason,
        previous_reason: state.disabled_reason,
        failures_before: state.consecutive_failures,
        actor: command.actor,
        at: command.now,
      },
    },
  ];
}

/**
 * Closed: a score strictly above the threshold counts, anything else resets the counter. Reaching the
 * failure threshold trips (P1) or, with autoDisable off, records a suppressed trip (P2 alert). Open: the
 * report is recorded but does not count; the breaker is already off and must not re-trip.
 */
function reportDrift(
  policy: BreakerPolicy,
  command: Valid<'ReportDrift'>,
  state: BreakerState,
): BreakerEvent[] {
  const { drift_score, sample_count, details, actor, now } = command;
  const threshold = policy.driftThreshold;
  const exceeded = drift_score > threshold;
  const before = state.consecutive_failures;
  const counted = !state.open;
  const after = !counted ? before : exceeded ? before + 1 : 0;
  const observed: BreakerEvent = {
    type: 'DriftObserved',
    data: {
      drift_score,
      threshold,
      failure_threshold: policy.failureThreshold,
      sample_count,
      details,
      exceeded,
      counted,
      failures_before: before,
      failures_after: after,
      breaker_open: state.open,
      actor,
      at: now,
    },
  };
  if (!counted || !exceeded || after < policy.failureThreshold) return [observed];

  if (!policy.autoDisable) {
    return [
      observed,
      {
        type: 'DriftTripSuppressed',
        data: {
          severity: 'P2',
          reason: driftTripSuppressedReason(drift_score, threshold),
          drift_score,
          threshold,
          failure_threshold: policy.failureThreshold,
          sample_count,
          details,
          failures_before: after,
          failures_after: 0,
          actor,
          at: now,
        },
      },
    ];
  }
  return [
    observed,
    tripped({
      ...disableWindow(now, { ttl_hours: null, disabled_until: null }, policy),
      incident_id: command.incident_id,
      severity: 'P1',
      trigger: 'drift',
      reason: driftTripReason(drift_score, threshold),
      disabled_by: CIRCUIT_BREAKER_ACTOR,
      drift_score,
      sample_count,
      threshold,
      failure_threshold: policy.failureThreshold,
      error_count: null,
      failures_before: after,
      failures_after: 0,
      details,
      actor,
      at: now,
    }),
  ];
}

/**
 * Always recorded. Closed: a report at or above the threshold trips at once (P3, N = its count); a smaller
 * one adds to `consecutive_schema_errors`, and the sum trips the same way once it reaches the threshold
 * (N = the sum) — so an external V2 answering garbage trips after 5 answers, one report each (docs/domain.md
 * §3). Open: recorded only; the breaker is already off, nothing adds up, nothing re-trips.
 */
function reportSchemaErrors(
  policy: BreakerPolicy,
  command: Valid<'ReportSchemaErrors'>,
  state: BreakerState,
): BreakerEvent[] {
  const { details, actor, now } = command;
  const threshold = policy.schemaErrorThreshold;
  // a state stored before the sum existed lacks it (typed, but decide is also handed such states)
  const before = state.consecutive_schema_errors ?? 0;
  const alone = command.error_count >= threshold;
  const sum = before + command.error_count;
  const exceeded = alone || sum >= threshold;
  const trips = !state.open && exceeded;
  const reported: BreakerEvent = {
    type: 'SchemaErrorsReported',
    data: {
      error_count: command.error_count,
      threshold,
      details,
      exceeded,
      breaker_open: state.open,
      errors_before: before,
      // a trip clears the sum; while open nothing adds up
      errors_after: trips ? 0 : state.open ? before : sum,
      actor,
      at: now,
    },
  };
  if (!trips) return [reported];
  const error_count = alone ? command.error_count : sum;
  return [
    reported,
    tripped({
      ...disableWindow(now, { ttl_hours: null, disabled_until: null }, policy),
      incident_id: command.incident_id,
      severity: 'P3',
      trigger: 'schema_errors',
      reason: schemaTripReason(error_count, threshold),
      disabled_by: CIRCUIT_BREAKER_ACTOR,
      drift_score: 1.0,
      sample_count: error_count,
      threshold,
      failure_threshold: null,
      error_count,
      failures_before: state.consecutive_failures,
      failures_after: 0,
      details,
      actor,
      at: now,
    }),
  ];
}

/**
 * Always recorded. Closed: a failed run counts, a pass resets the canary counter, skipped and error change
 * nothing (inconclusive). COSTSIM_CANARY_FAILURE_THRESHOLD consecutive failures trip (P2), the reason
 * naming the run ids. Open: recorded only. The drift counter is never read or written here (docs/domain.md §6:
 * a canary that fails on outliers alone must not reset it).
 */
function reportCanaryRun(
  policy: BreakerPolicy,
  command: Valid<'ReportCanaryRun'>,
  state: BreakerState,
): BreakerEvent[] {
  const { run_id, status, actor, now } = command;
  const threshold = policy.canaryFailureThreshold;
  const before = state.consecutive_canary_failures ?? 0;
  const runsBefore = state.canary_failed_runs ?? [];
  const counted = !state.open && (status === 'fail' || status === 'pass');
  const failing = counted && status === 'fail';
  const after = !counted ? before : failing ? before + 1 : 0;
  const runsAfter = !counted ? runsBefore : failing ? [...runsBefore, run_id] : [];
  const trips = failing && after >= threshold && !state.half_open;

  const observed: BreakerEvent = {
    type: 'CanaryRunObserved',
    data: {
      run_id,
      status,
      failed_on_outliers_only: command.failed_on_outliers_only,
      failure_threshold: threshold,
      counted,
      failures_before: before,
      failures_after: trips ? 0 : after,
      failed_runs_after: trips ? [] : runsAfter,
      breaker_open: state.open,
      actor,
      at: now,
    },
  };
  if (state.open && state.half_open) return [observed, ...decideHalfOpen(policy, command, state)];
  if (!trips) return [observed];
  return [
    observed,
    tripped({
      ...disableWindow(now, { ttl_hours: null, disabled_until: null }, policy),
      incident_id: command.incident_id,
      severity: 'P2',
      trigger: 'canary',
      reason: canaryTripReason(runsAfter, threshold),
      disabled_by: CIRCUIT_BREAKER_ACTOR,
      drift_score: 0,
      sample_count: 0,
      threshold: null,
      failure_threshold: threshold,
      error_count: null,
      // the drift counter is not the canary's: it carries on untouched... except that any trip resets it
      failures_before: state.consecutive_failures,
      failures_after: 0,
      details: { canary_runs: runsAfter },
      actor,
      at: now,
    }),
  ];
}

const tripped = (data: BreakerTrippedData): BreakerEvent => ({ type: 'BreakerTripped', data });
