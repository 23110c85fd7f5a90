import { z } from 'zod';
import { MAX_REPORT_COUNT } from '../../domain/breaker';
import {
  fieldErrors,
  isoInstant,
  queryBool,
  queryInt,
  storableJsonObject,
  storableText,
} from '../../infra/http/validation';
import { tenantIdSchema } from '../../infra/http/auth';
import { problems } from '../../infra/http/problem';

/** Request schemas of the breaker routes (docs/api.md "Breakers"); /openapi.json is generated from these. */

export const breakerName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$');

/** The `{name}` path parameter, or a 400 whose error names it (`path.name`). */
export function parseBreakerName(value: unknown): string {
  const result = breakerName.safeParse(value);
  if (!result.success) throw problems.validation(fieldErrors(result.error, 'path.name'));
  return result.data;
}

const tenantId = tenantIdSchema;
const details = storableJsonObject;
const actor = storableText(0, 200).trim().min(1);

export const disableBody = z
  .object({
    reason: storableText(0, 500).trim().min(1, 'must not be empty').max(500, 'at most 500 characters'),
    disabled_by: actor.optional(),
    ttl_hours: z
      .number()
      .min(0)
      .max(24 * 365 * 10)
      .optional(),
    disabled_until: isoInstant.optional(),
  })
  .strict()
  .refine((b) => b.ttl_hours === undefined || b.disabled_until === undefined, {
    message: 'send ttl_hours or disabled_until, not both',
    path: ['ttl_hours'],
  });

export const enableBody = z
  .object({ reason: storableText(0, 500).trim().optional(), enabled_by: actor.optional() })
  .strict();

export const driftBody = z
  .object({
    drift_score: z.number().min(0).max(1),
    sample_count: z.number().int().min(1).max(MAX_REPORT_COUNT).optional(),
    details: details.optional(),
  })
  .strict();

export const schemaErrorsBody = z
  .object({ error_count: z.number().int().min(1).max(MAX_REPORT_COUNT), details: details.optional() })
  .strict();

export const resetBody = z.object({ reason: storableText(0, 500).trim().optional() }).strict();

export const tenantQuery = z.object({ tenant_id: tenantId.optional() }).strict();
export const resetQuery = z.object({ reason: storableText(0, 500).optional() }).strict();
export const stateQuery = z
  .object({ tenant_id: tenantId.optional(), min_version: queryInt(0, 2 ** 52).optional() })
  .strict();
export const incidentsQuery = z
  .object({
    tenant_id: tenantId.optional(),
    include_resolved: queryBool.optional(),
    limit: queryInt(1, 100).optional(),
  })
  .strict();
export const historyQuery = z
  .object({
    tenant_id: tenantId.optional(),
    until: isoInstant.optional(),
    limit: queryInt(1, 1000).optional(),
  })
  .strict();
export const listQuery = z.object({}).strict();
