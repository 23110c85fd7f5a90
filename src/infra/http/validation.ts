import { z } from 'zod';
import { type FieldError, problems } from './problem';

/** Zod issues → field errors; an unknown key is reported at its own path. */
export function fieldErrors(error: z.ZodError, prefix: string): FieldError[] {
  return error.issues.flatMap((issue) => {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ path: [base, k].filter(Boolean).join('.'), message: 'unknown field' }));
    }
    return [{ path: base, message: issue.message }];
  });
}

/** Parses or throws a 400 problem naming every bad field. Nothing has been changed at that point. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw problems.validation(fieldErrors(result.error, where === 'query' ? 'query' : ''));
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

export const isoInstant = z.iso.datetime({
  offset: true,
  message: 'must be an ISO-8601 timestamp with a zone',
});
