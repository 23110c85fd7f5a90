import { z } from 'zod';
import { tenantIdSchema } from '../../infra/http/auth';
import { queryInt } from '../../infra/http/validation';

export const alertStatus = z.enum(['pending', 'sent', 'failed']);

export const alertListQuery = z
  .object({
    status: alertStatus.optional(),
    limit: queryInt(1, 1000).optional(),
    tenant_id: tenantIdSchema.optional(),
  })
  .strict();

export const alertStatsQuery = z.object({ tenant_id: tenantIdSchema.optional() }).strict();

export const retryFailedBody = z
  .object({
    /** attempts added to every failed row (docs/domain.md §4: max_attempts += N, attempts kept). */
    max_retries: z.number().int().min(1).max(100).optional(),
  })
  .strict();

export const purgeBody = z
  .object({
    /** rows older than this many days go (0 = every matching row). */
    days: z.number().min(0).max(36_500).optional(),
    statuses: z
      .array(z.enum(['sent', 'failed']))
      .min(1)
      .max(2)
      .optional(),
  })
  .strict();
