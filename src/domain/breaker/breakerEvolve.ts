import { UnknownBreakerEventError } from './breakerErrors';
import type { BreakerEvent } from './breakerEvents';
import { type BreakerState, CLOSED_FIELDS } from './breakerState';

/**
 * Applies one event. Reads only the event (never the policy or a clock), so a replay always rebuilds the
 * same state; returns a new object and never mutates its inputs.
 */
export function evolveBreaker(state: BreakerState, event: BreakerEvent): BreakerState {
  const base: BreakerState = { ...state, version: state.version + 1, updated_at: event.data.at };
  // docs/domain.md §3: the schema-error sum goes back to 0 on any drift observation (a valid V2 answer) or
  // trip, and a closing starts from a clean state.
  const schemaErrorsCleared: BreakerState = { ...base, consecutive_schema_errors: 0 };
  // A trip or a closing starts the canary count afresh too.
  const canaryCleared = {
    consecutive_canary_failures: 0,
    canary_failed_runs: [] as readonly string[],
  };
  switch (event.type) {
    case 'BreakerTripped': {
      const d = event.data;
      return {
        ...schemaErrorsCleared,
        ...canaryCleared,
        open: true,
        half_open: false,
        disabled_by: d.disabled_by,
        disabled_reason: d.reason,
        disabled_until: d.disabled_until,
        ttl_hours: d.ttl_hours,
        incident_id: d.incident_id,
        incident: {
          id: d.incident_id,
          timestamp: d.at,
          severity: d.severity,
          trigger: d.trigger,
          reason: d.reason,
          drift_score: d.drift_score,
          sample_count: d.sample_count,
          details: d.details,
        },
        consecutive_failures: d.failures_after,
        opened_at: d.at,
      };
    }
    case 'BreakerDisableAmended':
      // decide amends only an open breaker; on a closed one (no writer does that) there is nothing to amend
      return base.open
        ? {
            ...base,
            disabled_reason: event.data.reason,
            disabled_until: event.data.disabled_until,
            ttl_hours: event.data.ttl_hours,
          }
        : base;
    case 'BreakerEnabled':
    case 'BreakerAutoRecovered':
      return {
        ...schemaErrorsCleared,
        ...canaryCleared,
        ...CLOSED_FIELDS,
        consecutive_failures: 0,
      };
    case 'DriftObserved':
      return {
        ...schemaErrorsCleared,
        consecutive_failures: event.data.failures_after,
        last_failure_at: event.data.counted && event.data.exceeded ? event.data.at : state.last_failure_at,
      };
    case 'DriftTripSuppressed':
      return { ...schemaErrorsCleared, consecutive_failures: event.data.failures_after };
    // Half-open is a sub-state of open; decide records these only while open.
    case 'BreakerHalfOpened':
      return base.open ? { ...base, half_open: true } : base;
    case 'BreakerRecoveryDeferred':
      return base.open
        ? {
            ...base,
            half_open: false,
            disabled_until: event.data.disabled_until,
            ttl_hours: event.data.ttl_hours,
          }
        : base;
    case 'CanaryRunObserved':
      // the drift counter and the schema-error sum are left as they are
      return {
        ...base,
        consecutive_canary_failures: event.data.failures_after,
        canary_failed_runs: event.data.failed_runs_after,
      };
    case 'SchemaErrorsReported':
      // Reports recorded before the sum existed carry no errors_after: they changed nothing.
      return {
        ...base,
        consecutive_schema_errors: event.data.errors_after ?? state.consecutive_schema_errors ?? 0,
      };
    default:
      return unknownEvent(event);
  }
}

function unknownEvent(event: never): never {
  const type = (event as { type?: unknown }).type;
  throw new UnknownBreakerEventError(`Unknown breaker event type: ${String(type)}`);
}
