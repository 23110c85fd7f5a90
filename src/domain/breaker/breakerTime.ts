import { InvalidTimestampError, InvalidTtlError } from './breakerErrors';

/** A point in time as callers have it: a Date, or an ISO-8601 string with an explicit offset. */
export type Instant = Date | string;

// An explicit `Z` or `±hh:mm` is required: `Date.parse` reads an offset-less date-time as *local* time,
// which would make the domain's answer depend on the host's TZ setting.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const HOUR_MS = 3_600_000;
// ECMAScript's time value range; beyond it a Date is invalid.
const MAX_TIME_MS = 8.64e15;

/** Normalizes an instant to `toISOString()` form (UTC, milliseconds), the only form stored in events. */
export function toIso(value: Instant, field: string): string {
  let ms = Number.NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string' && ISO_WITH_OFFSET.test(value)) ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new InvalidTimestampError(field, `${field} must be a valid date or ISO-8601 string with an offset`);
  }
  return new Date(ms).toISOString();
}

/** Milliseconds of an ISO string this module produced. */
export const msOf = (iso: string): number => Date.parse(iso);

/** `iso` + `hours` (fractions allowed), rounded to the millisecond. */
export function addHours(iso: string, hours: number, field: string): string {
  const ms = msOf(iso) + Math.round(hours * HOUR_MS);
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_TIME_MS) {
    throw new InvalidTtlError(field, `${field} puts disabled_until beyond the representable date range`);
  }
  return new Date(ms).toISOString();
}
