import { z } from 'zod';
import { isoString, jsonObject, nullableIso } from '../../infra/http/responseSchemas';

/** Response schemas of the breaker routes (docs/api.md "Breakers"), for /openapi.json. */

export const breakerStateResponse = z
  .object({
    name: z.string(),
    tenant_id: z.string().nullable(),
    open: z.boolean(),
    disabled_by: z.string().nullable(),
    disabled_reason: z.string().nullable(),
    disabled_until: nullableIso,
    incident_id: z.string().nullable(),
    consecutive_failures: z.number().int(),
    consecutive_schema_errors: z.number().int().optional(),
    last_failure_at: nullableIso,
    opened_at: nullableIso,
    updated_at: nullableIso,
    version: z.number().int(),
  })
  .meta({ id: 'BreakerState' });

export const incidentResponse = z
  .object({
    id: z.string(),
    breaker: z.string(),
    tenant_id: z.string().nullable(),
    timestamp: isoString,
    reason: z.string(),
    severity: z.enum(['P1', 'P2', 'P3']),
    drift_score: z.number().nullable(),
    sample_count: z.number().int().nullable(),
    details: jsonObject,
    resolved: z.boolean(),
    resolved_at: nullableIso,
    resolved_by: z.string().nullable(),
    resolution_notes: z.string().nullable(),
    alert_sent: z.boolean(),
    alert_sent_at: nullableIso,
  })
  .meta({ id: 'Incident' });

export const breakerListResponse = z.object({ breakers: z.array(breakerStateResponse) });
export const incidentListResponse = z.object({
  incidents: z.array(incidentResponse),
  total: z.number().int(),
});
export const disableResponse = z.object({
  changed: z.boolean(),
  state: breakerStateResponse,
  incident: incidentResponse.nullable(),
});
export const enableResponse = z.object({ changed: z.boolean(), state: breakerStateResponse });
export const reportResponse = z.object({
  tripped: z.boolean(),
  state: breakerStateResponse,
  incident: incidentResponse.nullable(),
});
export const historyResponse = z.object({
  events: z.array(
    z.object({
      position: z.number().int(),
      type: z.string(),
      recorded_at: isoString,
      actor: z.string().nullable(),
      data: jsonObject,
    }),
  ),
  total: z.number().int(),
  state_at_until: breakerStateResponse,
});
export const v2StatusResponse = z.object({
  sandbox_enabled: z.boolean(),
  circuit_breaker_open: z.boolean(),
  disabled_by_drift: z.boolean(),
  model_version: z.string(),
  adapter_version: z.string(),
  drift_threshold: z.number(),
});
export const resetResponse = z.object({
  success: z.boolean(),
  message: z.string(),
  state: breakerStateResponse,
});
