import { LATEST_INSTANT, isStorableInstantMs, parseStorableInstant } from '../storableValues';
import { InvalidTimestampError, InvalidTtlError } from './breakerErrors';

/** A point in time as callers have it: a Date, or an ISO-8601 string with an explicit offset. */
export type Instant = Date | string;

const HOUR_MS = 3_600_000;

/**
 * Normalizes an instant to `toISOString()` form (UTC, milliseconds), the only form stored in events. Only
 * instants PostgreSQL can hold are accepted (docs/limits.md): an explicit `Z` or `±hh:mm` offset within
 * ±15:59, and years 0001–9999 both as written and in UTC — the projections cast these strings to
 * timestamptz, and one they refuse would stop them on every retry.
 */
export function toIso(value: Instant, field: string): string {
  if (value instanceof Date) {
    if (!isStorableInstantMs(value.getTime())) {
      throw new InvalidTimestampError(field, `${field} must be a valid date in years 0001–9999`);
    }
    return value.toISOString();
  }
  if (typeof value !== 'string') {
    throw new InvalidTimestampError(field, `${field} must be a date or an ISO-8601 string with an offset`);
  }
  const parsed = parseStorableInstant(value);
  if (!parsed.ok) throw new InvalidTimestampError(field, `${field} ${parsed.message}`);
  return new Date(parsed.ms).toISOString();
}

/** Milliseconds of an ISO string this module produced. */
export const msOf = (iso: string): number => Date.parse(iso);

/** `iso` + `hours` (fractions allowed), rounded to the millisecond. */
export function addHours(iso: string, hours: number, field: string): string {
  const ms = msOf(iso) + Math.round(hours * HOUR_MS);
  if (!isStorableInstantMs(ms)) {
    throw new InvalidTtlError(field, `${field} puts disabled_until beyond ${LATEST_INSTANT}`);
  }
  return new Date(ms).toISOString();
}
