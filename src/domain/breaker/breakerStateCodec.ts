import type { BreakerState } from './breakerState';

/**
 * A breaker state read back from storage (cb_state.state, written by every version of the projection).
 * Fields added after the first release are absent in rows written before them; they read as the value a
 * fold of the same events gives (0 / [] / false), so readers never see `undefined` where the type says
 * number. Snapshots do not need this: their schema name changes with the shape, and older ones are ignored.
 */
export function decodeStoredBreakerState(stored: BreakerState): BreakerState {
  const filled = {
    ...stored,
    consecutive_schema_errors: stored.consecutive_schema_errors ?? 0,
    consecutive_canary_failures: stored.consecutive_canary_failures ?? 0,
    canary_failed_runs: stored.canary_failed_runs ?? [],
  };
  return filled.open ? { ...filled, half_open: filled.half_open ?? false } : { ...filled, half_open: false };
}
