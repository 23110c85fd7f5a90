import type { BreakerCommand, BreakerDetails, ValidCommand } from './breakerCommands';
import {
  type BreakerInputError,
  ConflictingTtlError,
  InvalidActorError,
  InvalidCanaryRunError,
  InvalidCountError,
  InvalidDetailsError,
  InvalidDriftScoreError,
  InvalidIncidentIdError,
  InvalidReasonError,
  InvalidTtlError,
  UnknownBreakerCommandError,
} from './breakerErrors';
import { findUnstorable, formatPath, textProblem } from '../storableValues';
import { toIso } from './breakerTime';
import { CANARY_RUN_STATUSES, type CanaryRunStatus } from '../canary/canaryReport';

/**
 * The invariants of a command: `validateCommand` turns what a caller sent into the ValidCommand `decide`
 * works on (breakerCommands.ts declares both), or throws a BreakerInputError naming the field.
 */

// Incident ids are 12 characters (docs/domain.md §3); the original used the first 12 chars of a UUID, so `-` is
// allowed, and base64url-style ids fit too. Anything else is a caller bug worth failing loudly on.
const INCIDENT_ID = /^[A-Za-z0-9_-]{12}$/;

const isBlank = (s: string): boolean => s.trim().length === 0;

/** Text goes into jsonb and text columns: U+0000 and lone surrogates cannot (docs/limits.md). */
function storable<T extends string | null>(
  value: T,
  field: string,
  error: new (field: string, message: string) => BreakerInputError,
): T {
  const problem = value === null ? null : textProblem(value);
  if (problem) throw new error(field, `${field} ${problem}`);
  return value;
}

function actor(value: unknown): string {
  if (typeof value !== 'string' || isBlank(value)) {
    throw new InvalidActorError('actor', 'actor must be a non-empty string');
  }
  return storable(value, 'actor', InvalidActorError);
}

function incidentId(value: unknown): string {
  if (typeof value !== 'string' || !INCIDENT_ID.test(value)) {
    throw new InvalidIncidentIdError('incident_id', 'incident_id must be 12 characters of [A-Za-z0-9_-]');
  }
  return value;
}

/** A blank reason explains nothing, so a disable refuses it (the audit trail is the point). */
function requiredReason(value: unknown): string {
  if (typeof value !== 'string' || isBlank(value)) {
    throw new InvalidReasonError('reason', 'reason must be a non-empty string');
  }
  return storable(value, 'reason', InvalidReasonError);
}

/** Enable's reason is optional; blank counts as absent (legacy `POST /v2/reset?reason=`). */
function optionalReason(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidReasonError('reason', 'reason must be a string');
  return isBlank(value) ? null : storable(value, 'reason', InvalidReasonError);
}

/** sample_count / error_count land in integer columns (cb_incidents.sample_count is int4). */
export const MAX_REPORT_COUNT = 1_000_000_000;

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_REPORT_COUNT) {
    throw new InvalidCountError(field, `${field} must be an integer in 1..${MAX_REPORT_COUNT}`);
  }
  return value;
}

function driftScore(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidDriftScoreError('drift_score', 'drift_score must be a finite number in 0..1');
  }
  return value;
}

function details(value: unknown): BreakerDetails {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidDetailsError('details', 'details must be a JSON object');
  }
  // Stored as given (a `__proto__` key included), so it must be JSON that jsonb can hold.
  const [problem] = findUnstorable(value);
  if (problem) {
    const field = formatPath(['details', ...problem.path]);
    throw new InvalidDetailsError(field, `${field} ${problem.message}`);
  }
  return value as BreakerDetails;
}

function ttlHours(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidTtlError('ttl_hours', 'ttl_hours must be a finite number >= 0');
  }
  return value;
}

function canaryRunId(value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 200) {
    throw new InvalidCanaryRunError('run_id', 'run_id must be a string of 1..200 characters');
  }
  return value;
}

function canaryStatus(value: unknown): CanaryRunStatus {
  if (!(CANARY_RUN_STATUSES as readonly unknown[]).includes(value)) {
    throw new InvalidCanaryRunError('status', 'status must be pass, fail, error or skipped');
  }
  return value as CanaryRunStatus;
}

export function validateCommand(command: BreakerCommand): ValidCommand {
  switch (command.type) {
    case 'DisableBreaker': {
      const ttl = ttlHours(command.ttl_hours);
      const hasUntil = command.disabled_until !== undefined && command.disabled_until !== null;
      if (ttl !== null && hasUntil) {
        throw new ConflictingTtlError('ttl_hours', 'give either ttl_hours or disabled_until, not both');
      }
      return {
        type: command.type,
        reason: requiredReason(command.reason),
        actor: actor(command.actor),
        ttl_hours: ttl,
        disabled_until: hasUntil ? toIso(command.disabled_until as Date | string, 'disabled_until') : null,
        incident_id: incidentId(command.incident_id),
        now: toIso(command.now, 'now'),
      };
    }
    case 'EnableBreaker':
      return {
        type: command.type,
        actor: actor(command.actor),
        reason: optionalReason(command.reason),
        now: toIso(command.now, 'now'),
      };
    case 'ReportDrift':
      return {
        type: command.type,
        drift_score: driftScore(command.drift_score),
        sample_count:
          command.sample_count === undefined || command.sample_count === null
            ? 1
            : count(command.sample_count, 'sample_count'),
        details: details(command.details),
        actor: actor(command.actor),
        incident_id: incidentId(command.incident_id),
        now: toIso(command.now, 'now'),
      };
    case 'ReportSchemaErrors':
      return {
        type: command.type,
        error_count: count(command.error_count, 'error_count'),
        details: details(command.details),
        actor: actor(command.actor),
        incident_id: incidentId(command.incident_id),
        now: toIso(command.now, 'now'),
      };
    case 'ReportCanaryRun':
      return {
        type: command.type,
        run_id: canaryRunId(command.run_id),
        status: canaryStatus(command.status),
        failed_on_outliers_only: command.failed_on_outliers_only === true,
        actor: actor(command.actor),
        incident_id: incidentId(command.incident_id),
        now: toIso(command.now, 'now'),
      };
    case 'RecoverExpiredBreaker':
      return { type: command.type, now: toIso(command.now, 'now') };
    default: {
      const type = (command as { type?: unknown }).type;
      throw new UnknownBreakerCommandError('type', `Unknown breaker command type: ${String(type)}`);
    }
  }
}
