import { InvalidBreakerPolicyError } from './breakerErrors';

/**
 * The tunables of a breaker (docs/domain.md §8 names in comments). The policy only shapes `decide`: `evolve`
 * reads everything it needs from the events, so replaying old history under a new policy rebuilds the
 * same states.
 */
export interface BreakerPolicy {
  /** COSTSIM_DRIFT_THRESHOLD: a drift score strictly above this counts as a failure. */
  readonly driftThreshold: number;
  /** COSTSIM_FAILURE_THRESHOLD: consecutive failures that trip the breaker. */
  readonly failureThreshold: number;
  /** COSTSIM_SCHEMA_ERROR_THRESHOLD: a schema-error report with at least this many errors trips at once. */
  readonly schemaErrorThreshold: number;
  /** COSTSIM_V2_AUTO_DISABLE: false → drift still counts and alerts (P2) but never opens the breaker. */
  readonly autoDisable: boolean;
  /** COSTSIM_AUTO_RECOVER: false → an expired TTL keeps the breaker open until enabled by hand. */
  readonly autoRecover: boolean;
  /** COSTSIM_DISABLE_TTL_HOURS: default disable TTL; 0 = until enabled by hand. */
  readonly disableTtlHours: number;
  /** COSTSIM_CANARY_FAILURE_THRESHOLD: consecutive failed canary runs that trip the breaker (P2). */
  readonly canaryFailureThreshold: number;
  /**
   * COSTSIM_RECOVERY_REQUIRES_CANARY: an expired TTL half-opens the breaker (V2 still off) instead of
   * closing it; a passing canary closes it, a failing or inconclusive one extends the TTL.
   */
  readonly recoveryRequiresCanary: boolean;
}

export const defaultBreakerPolicy: BreakerPolicy = Object.freeze({
  driftThreshold: 0.2,
  failureThreshold: 3,
  schemaErrorThreshold: 5,
  autoDisable: true,
  autoRecover: true,
  disableTtlHours: 24,
  canaryFailureThreshold: 3,
  recoveryRequiresCanary: false,
});

const isPositiveInteger = (n: number): boolean => Number.isInteger(n) && n >= 1;

/** Throws InvalidBreakerPolicyError naming the first bad field; returns the policy unchanged otherwise. */
export function validateBreakerPolicy(policy: BreakerPolicy): BreakerPolicy {
  const { driftThreshold, failureThreshold, schemaErrorThreshold, disableTtlHours } = policy;
  if (!Number.isFinite(driftThreshold) || driftThreshold < 0 || driftThreshold > 1) {
    throw new InvalidBreakerPolicyError(`driftThreshold must be a number in 0..1, got ${driftThreshold}`);
  }
  if (!isPositiveInteger(failureThreshold)) {
    throw new InvalidBreakerPolicyError(`failureThreshold must be an integer >= 1, got ${failureThreshold}`);
  }
  if (!isPositiveInteger(schemaErrorThreshold)) {
    throw new InvalidBreakerPolicyError(
      `schemaErrorThreshold must be an integer >= 1, got ${schemaErrorThreshold}`,
    );
  }
  if (!isPositiveInteger(policy.canaryFailureThreshold)) {
    throw new InvalidBreakerPolicyError(
      `canaryFailureThreshold must be an integer >= 1, got ${policy.canaryFailureThreshold}`,
    );
  }
  if (!Number.isFinite(disableTtlHours) || disableTtlHours < 0) {
    throw new InvalidBreakerPolicyError(`disableTtlHours must be a number >= 0, got ${disableTtlHours}`);
  }
  return policy;
}
