import { DomainError } from '../decider';

/**
 * Typed errors of the breaker aggregate. A command that fails validation throws before any event is
 * decided, so a bad request never changes the stream. `field` names the command field at fault (the HTTP
 * layer turns it into a problem-details `errors[].path`).
 */
export abstract class BreakerInputError extends DomainError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class InvalidDriftScoreError extends BreakerInputError {
  override readonly code = 'breaker.invalid_drift_score';
}

/** sample_count / error_count: integers ≥ 1. */
export class InvalidCountError extends BreakerInputError {
  override readonly code = 'breaker.invalid_count';
}

export class InvalidReasonError extends BreakerInputError {
  override readonly code = 'breaker.invalid_reason';
}

export class InvalidActorError extends BreakerInputError {
  override readonly code = 'breaker.invalid_actor';
}

export class InvalidTtlError extends BreakerInputError {
  override readonly code = 'breaker.invalid_ttl';
}

/** Both `ttl_hours` and `disabled_until` given: two answers to one question, so we refuse to guess. */
export class ConflictingTtlError extends BreakerInputError {
  override readonly code = 'breaker.conflicting_ttl';
}

export class InvalidTimestampError extends BreakerInputError {
  override readonly code = 'breaker.invalid_timestamp';
}

export class InvalidIncidentIdError extends BreakerInputError {
  override readonly code = 'breaker.invalid_incident_id';
}

export class InvalidDetailsError extends BreakerInputError {
  override readonly code = 'breaker.invalid_details';
}

/** A canary report's run_id or status that is not one. */
export class InvalidCanaryRunError extends BreakerInputError {
  override readonly code = 'breaker.invalid_canary_run';
}

/** A command whose `type` is not a breaker command (only reachable from untyped callers). */
export class UnknownBreakerCommandError extends BreakerInputError {
  override readonly code = 'breaker.unknown_command';
}

/** A stored event this code does not know: replay stops rather than silently building a wrong state. */
export class UnknownBreakerEventError extends DomainError {
  override readonly code = 'breaker.unknown_event';
}

/** A policy that cannot be right (programming or configuration error, caught when the decider is built). */
export class InvalidBreakerPolicyError extends DomainError {
  override readonly code = 'breaker.invalid_policy';
}
