import { z } from 'zod';
import { isoString, nullableIso } from '../../infra/http/responseSchemas';

/** Response schemas of the alert routes (docs/api.md "Alerts (operators)"), for /openapi.json. */
export const alertRowResponse = z
  .object({
    id: z.string(),
    alert_type: z.string(),
    circuit_breaker_name: z.string().nullable(),
    tenant_id: z.string().nullable(),
    incident_id: z.string().nullable(),
    target: z.string().nullable(),
    payload: z.unknown(),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    last_attempt_at: nullableIso,
    next_attempt_at: isoString,
    last_error: z.string().nullable(),
    status: z.enum(['pending', 'sent', 'failed']),
    created_at: isoString,
    sent_at: nullableIso,
  })
  .meta({ id: 'AlertQueueRow' });

export const alertListResponse = z.object({ alerts: z.array(alertRowResponse) });
export const alertStatsResponse = z.object({
  pending: z.number().int(),
  sent: z.number().int(),
  failed: z.number().int(),
  oldest_pending: nullableIso,
});
export const retriedResponse = z.object({ retried: z.number().int() });
export const purgedResponse = z.object({ purged: z.number().int() });
