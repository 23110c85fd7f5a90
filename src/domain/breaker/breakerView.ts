import type { BreakerPolicy } from './breakerPolicy';
import type { BreakerSnapshot, BreakerState } from './breakerState';
import { CLOSED_FIELDS, toSnapshot } from './breakerState';
import { type Instant, msOf, toIso } from './breakerTime';

/**
 * The effective state at a time: what every reader (API, V2 gate) must see. docs/domain.md §3: "the read path
 * must report closed as soon as the TTL has passed, even before the recovery is written". So when a
 * recovery is due, the view already shows the state the recovery will produce (closed, no reason, no
 * incident, counter 0) while `version` and `updated_at` stay those of the stored stream, because no event
 * has been written yet (the ETag must still match the stream). `recovery_pending` says which case it is.
 */
export interface BreakerView extends BreakerSnapshot {
  readonly recovery_pending: boolean;
}

/** Only this part of the policy matters to readers. */
export type RecoveryPolicy = Pick<BreakerPolicy, 'autoRecover'> &
  Partial<Pick<BreakerPolicy, 'recoveryRequiresCanary'>>;

/** The TTL of an open breaker has passed (whatever the policy does about it). */
const ttlPassed = (state: BreakerSnapshot, now: Instant): boolean =>
  state.open && state.disabled_until !== null && msOf(state.disabled_until) <= msOf(toIso(now, 'now'));

/**
 * True when the breaker is open, has a TTL that has passed (disabled_until ≤ now) and the policy
 * auto-recovers. With autoRecover off an expired TTL means nothing: the breaker stays open until enabled
 * by hand, and readers must agree with what `decide` will do, hence the policy argument everywhere here.
 */
export function isRecoveryDue(state: BreakerSnapshot, now: Instant, policy: RecoveryPolicy): boolean {
  // With the recovery gate an expired TTL never closes the breaker by itself: readers keep it open (the
  // V2 gate fails closed) until a canary run passes.
  return policy.autoRecover && policy.recoveryRequiresCanary !== true && ttlPassed(state, now);
}

/** Recovery gate: the TTL passed and the breaker is not half-open yet (the next command records it). */
export function isHalfOpenDue(state: BreakerState, now: Instant, policy: RecoveryPolicy): boolean {
  return (
    policy.autoRecover && policy.recoveryRequiresCanary === true && !state.half_open && ttlPassed(state, now)
  );
}

export function stateAt(
  state: BreakerState | BreakerSnapshot,
  now: Instant,
  policy: RecoveryPolicy,
): BreakerView {
  const snapshot = toSnapshot(state);
  if (!isRecoveryDue(snapshot, now, policy)) return { ...snapshot, recovery_pending: false };
  // What BreakerAutoRecovered will make of it (evolve's closing), with the stream's version and time.
  return {
    ...toSnapshot({ ...snapshot, ...CLOSED_FIELDS, consecutive_failures: 0 }),
    recovery_pending: true,
  };
}

/** open and (disabled_until null or disabled_until > now), unless autoRecover is off (then: open). */
export const isOpenAt = (state: BreakerSnapshot, now: Instant, policy: RecoveryPolicy): boolean =>
  state.open && !isRecoveryDue(state, now, policy);
