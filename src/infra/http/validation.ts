import { z } from 'zod';
import {
  EARLIEST_INSTANT,
  LATEST_INSTANT,
  MAX_AMOUNT,
  MAX_JSON_DEPTH,
  findUnstorable,
  formatPath,
  parseStorableInstant,
  textProblem,
} from '../../domain/storableValues';
import { type FieldError, problems } from './problem';

/** Zod issues → field errors; an unknown key is reported at its own path. */
export function fieldErrors(error: z.ZodError, prefix: string): FieldError[] {
  return error.issues.flatMap((issue) => {
    const base = [prefix, formatPath(issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)))]
      .filter(Boolean)
      .join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({
        path: [base, formatPath([k])].filter(Boolean).join('.'),
        message: 'unknown field',
      }));
    }
    return [{ path: base, message: issue.message }];
  });
}

/**
 * Every place in a body or query where a value could not be stored (docs/limits.md): U+0000 or a lone
 * surrogate in any string or key, a number that is not finite, nesting deeper than MAX_JSON_DEPTH. It runs
 * on the whole request, whatever the route's schema, so no field — free-form `details` and `payload`
 * included — can carry such a value into an event.
 */
export function unstorableErrors(value: unknown, prefix: string): FieldError[] {
  return findUnstorable(value).map((u) => ({
    path: [prefix, formatPath(u.path)].filter(Boolean).join('.'),
    message: u.message,
  }));
}

/**
 * Parses `value` with `schema` and the storable walk (unstorableErrors): the data, or every bad field
 * (one error per field). The result shares free-form objects with `value` (see `storableJsonObject`).
 */
export function safeParseStorable<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: string,
): { success: true; data: z.infer<S> } | { success: false; errors: FieldError[] } {
  const unstorable = unstorableErrors(value, prefix);
  const result = schema.safeParse(value);
  if (result.success && unstorable.length === 0) return { success: true, data: result.data };
  const errors = [...unstorable, ...(result.success ? [] : fieldErrors(result.error, prefix))];
  const seen = new Set<string>();
  return { success: false, errors: errors.filter((e) => !seen.has(e.path) && seen.add(e.path)) };
}

/** Parses or throws a 400 problem naming every bad field. Nothing has been changed at that point. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query',
): z.infer<S> {
  const result = safeParseStorable(schema, value, where === 'query' ? 'query' : '');
  if (!result.success) throw problems.validation(result.errors);
  return result.data;
}

const queryInts = new WeakMap<object, { min: number; max: number }>();

/** Query-string helpers: values arrive as strings (or arrays when repeated — rejected). */
export const queryInt = (min: number, max: number) => {
  const schema = z
    .string()
    .regex(/^\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
  queryInts.set(schema, { min, max }); // /openapi.json documents it as the integer it is
  return schema;
};

/** The bounds of a queryInt schema (undefined for any other schema). */
export const queryIntBounds = (schema: object) => queryInts.get(schema);

export const queryBool = z
  .enum(['true', 'false'], { message: 'must be true or false' })
  .transform((v) => v === 'true');

/** Text PostgreSQL can store: no U+0000, no lone surrogate. */
export const storableText = (min: number, max: number) =>
  (min > 0 ? z.string().min(min) : z.string()).max(max).superRefine((s, ctx) => {
    const problem = textProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * A free-form JSON object (`details`, `payload`, `params`) that jsonb can hold exactly as sent. Deliberately
 * not z.record / z.object: those build a new object by assignment, and assigning `__proto__` sets the
 * prototype instead of a key, so a `__proto__` member would be silently dropped. This returns the parsed
 * value itself.
 */
export const storableJsonObject = z
  .unknown()
  .superRefine((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return;
    }
    for (const u of findUnstorable(value))
      ctx.addIssue({ code: 'custom', path: [...u.path], message: u.message });
  })
  .transform((value) => value as Record<string, unknown>)
  .meta({
    type: 'object',
    description: `Any JSON object, stored as sent: at most ${MAX_JSON_DEPTH} levels deep, no U+0000 or lone surrogates, finite numbers`,
  });

/** Costs (cents) and durations (ms): bounded so no sum or square in SQL can overflow float8. */
export const amount = z.number().finite().min(0).max(MAX_AMOUNT);

const storableInstant = (s: string, ctx: z.RefinementCtx) => {
  const parsed = parseStorableInstant(s);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
};

/**
 * An instant with an explicit zone, as PostgreSQL can hold it once normalised to UTC: years 0001–9999 (as
 * written and in UTC), offsets within ±15:59.
 */
export const isoInstant = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 timestamp with a zone' })
  .superRefine(storableInstant)
  .meta({ description: `ISO-8601 with Z or ±hh:mm (≤ ±15:59), ${EARLIEST_INSTANT} – ${LATEST_INSTANT}` });

/** A calendar day YYYY-MM-DD, years 0001–9999. */
export const calendarDay = z.iso.date().superRefine((day, ctx) => {
  if (!parseStorableInstant(`${day}T00:00:00Z`).ok)
    ctx.addIssue({ code: 'custom', message: 'year must be 0001–9999' });
});
