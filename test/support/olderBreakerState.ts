import type { BreakerState } from '../../src/domain/breaker';

/**
 * A breaker state as code of an earlier schema stored it (cb_state rows, breaker-state/2 snapshots): the
 * counters and the half-open flag added later are missing. Typed as the current state on purpose, since
 * that is what readers of old rows are handed.
 */
export function storedBeforeLaterCounters(state: BreakerState): BreakerState {
  const {
    consecutive_schema_errors: _s,
    consecutive_canary_failures: _c,
    canary_failed_runs: _r,
    half_open: _h,
    ...old
  } = state;
  return old as BreakerState;
}
