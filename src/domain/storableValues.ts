/**
 * What PostgreSQL and the projections can hold (docs/limits.md). Every value a command accepts ends up in an
 * event (jsonb) and then in read-table columns (text, timestamptz, float8); a value one of them refuses
 * would be acknowledged and then stop a projection on every retry. So the edge (HTTP schemas) and the
 * domain (deciders, writers) both check against these rules, and they are written once, here.
 */

/** Objects and arrays may nest this deep in a request body or a free-form field (the value itself is 1). */
export const MAX_JSON_DEPTH = 32;

/**
 * Costs (cents) and durations (ms) are finite and at most this: 10^12 cents is ten billion dollars, and a sum
 * of a billion such values (1e21), or of their squares (1e33, for a standard deviation), stays far inside
 * float8, so no SQL aggregate over them can overflow.
 */
export const MAX_AMOUNT = 1e12;

/** Instants are stored as `toISOString()` text and cast to timestamptz: years 0001–9999 in UTC. */
export const EARLIEST_INSTANT = '0001-01-01T00:00:00.000Z';
export const LATEST_INSTANT = '9999-12-31T23:59:59.999Z';
const EARLIEST_MS = Date.parse(EARLIEST_INSTANT);
const LATEST_MS = Date.parse(LATEST_INSTANT);

/** PostgreSQL refuses zone offsets beyond ±15:59. */
export const MAX_OFFSET_MINUTES = 15 * 60 + 59;

export interface Unstorable {
  /** Where in the value: object keys and array indexes. */
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

// U+0000 or any UTF-16 surrogate: only then is the (slower) exact check needed.
// eslint-disable-next-line no-control-regex -- finding U+0000 is the point
const SUSPECT = /[\u0000\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` cannot be stored as PostgreSQL text or jsonb, or null when it can. */
export function textProblem(text: string): string | null {
  if (!SUSPECT.test(text)) return null;
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  if (LONE_SURROGATE.test(text)) return 'must not contain a lone UTF-16 surrogate (U+D800–U+DFFF)';
  return null;
}

/** A key as it can be shown in an error path (escaped like JSON when it holds what cannot be shown). */
export const printableKey = (key: string): string =>
  textProblem(key) === null && !/[\s"\\.[\]]/.test(key) ? key : JSON.stringify(key);

/**
 * Every reason, up to `max`, why `value` cannot be stored as jsonb exactly as given: strings and keys with
 * U+0000 or lone surrogates, numbers that are not finite (JSON.parse turns 1e999 into Infinity, which
 * JSON.stringify would silently write as null), nesting deeper than `maxDepth`, and anything that is not
 * JSON (undefined members of an object are allowed: JSON leaves them out). Iterative, so a hostile depth
 * cannot overflow the stack.
 */
export function findUnstorable(value: unknown, maxDepth = MAX_JSON_DEPTH, max = 20): Unstorable[] {
  // Nearly every value is storable: prove that without building a path per node, and walk again with
  // paths only when something is wrong.
  return isStorable(value, maxDepth) ? [] : collectUnstorable(value, maxDepth, max);
}

/** findUnstorable's walk with paths, without the fast check first (exported for the equivalence test). */
export function collectUnstorable(value: unknown, maxDepth = MAX_JSON_DEPTH, max = 20): Unstorable[] {
  const found: Unstorable[] = [];
  const stack: Array<{ value: unknown; path: Array<string | number>; depth: number }> = [
    { value, path: [], depth: 1 },
  ];
  while (stack.length > 0 && found.length < max) {
    const { value: v, path, depth } = stack.pop()!;
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) found.push({ path, message: problem });
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) found.push({ path, message: 'must be a finite number' });
      continue;
    }
    if (typeof v !== 'object') {
      found.push({ path, message: 'must be JSON (object, array, string, number, boolean or null)' });
      continue;
    }
    const isArray = Array.isArray(v);
    if (!isArray && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) {
      found.push({ path, message: 'must be a plain JSON object' });
      continue;
    }
    if (depth > maxDepth) {
      found.push({ path, message: `nests deeper than ${maxDepth} levels` });
      continue;
    }
    if (isArray) {
      for (let i = v.length - 1; i >= 0; i--) {
        const item: unknown = v[i];
        if (item === undefined) found.push({ path: [...path, i], message: 'must be JSON, not undefined' });
        else stack.push({ value: item, path: [...path, i], depth: depth + 1 });
      }
      continue;
    }
    // Own keys, `__proto__` included (JSON.parse makes it an own property; it is data like any other).
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      const keyProblem = textProblem(key);
      if (keyProblem) found.push({ path: [...path, key], message: `key ${keyProblem}` });
      const member = (v as Record<string, unknown>)[key];
      if (member !== undefined) stack.push({ value: member, path: [...path, key], depth: depth + 1 });
    }
  }
  return found;
}

/**
 * True exactly when findUnstorable(value, maxDepth) finds nothing; the same rules, checked without paths
 * (the simulate and provenance paths run it on every request). Iterative like findUnstorable.
 */
export function isStorable(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'string') {
      if (textProblem(v) !== null) return false;
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
      continue;
    }
    if (typeof v !== 'object') return false;
    if (Array.isArray(v)) {
      if (depth > maxDepth) return false;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item === undefined) return false;
        values.push(item);
        depths.push(depth + 1);
      }
      continue;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    if (depth > maxDepth) return false;
    for (const key of Object.keys(v)) {
      if (textProblem(key) !== null) return false;
      const member = (v as Record<string, unknown>)[key];
      if (member !== undefined) {
        values.push(member);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

/** An error path as the API shows it: `details.a.0.b` (keys escaped when needed). */
export const formatPath = (path: ReadonlyArray<string | number>): string =>
  path.map((p) => (typeof p === 'number' ? String(p) : printableKey(p))).join('.');

// YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±HH:MM): the offset is required, because an offset-less date-time
// is read as *local* time by Date.parse, which would make an answer depend on the host's TZ.
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

export type InstantParse = { ok: true; ms: number } | { ok: false; message: string };

/**
 * Parses an ISO-8601 date-time with an explicit offset, refusing what PostgreSQL cannot hold once it is
 * normalised to UTC: a written year outside 0001–9999, an impossible calendar date or time (Feb 30,
 * 24:00, a leap second), an offset beyond ±15:59, or a UTC instant outside 0001-01-01 – 9999-12-31.
 * Fractions beyond milliseconds are truncated, as Date.parse does.
 */
export function parseStorableInstant(text: string): InstantParse {
  const m = ISO_INSTANT.exec(text);
  if (!m) return { ok: false, message: 'must be an ISO-8601 date-time with an offset (Z or ±hh:mm)' };
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (year < 1) return { ok: false, message: 'year must be 0001–9999' };
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
    return { ok: false, message: 'is not a calendar date' };
  }
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, message: 'is not a time of day' };
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (om > 59 || oh * 60 + om > MAX_OFFSET_MINUTES) {
      return { ok: false, message: 'offset must be within ±15:59' };
    }
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // setUTCFullYear: Date.UTC would read years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const utc = date.getTime() - offsetMinutes * 60_000;
  if (!isStorableInstantMs(utc)) {
    return { ok: false, message: `must lie between ${EARLIEST_INSTANT} and ${LATEST_INSTANT} in UTC` };
  }
  return { ok: true, ms: utc };
}

/** True for a time value PostgreSQL can hold after `toISOString()` (years 0001–9999 in UTC). */
export const isStorableInstantMs = (ms: number): boolean =>
  Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= LATEST_MS;
