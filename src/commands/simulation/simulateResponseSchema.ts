import { z } from 'zod';
import { jsonObject } from '../../infra/http/responseSchemas';

/** POST /costsim/v2/simulate's answer (docs/api.md "Original routes"), for /openapi.json. */
export const simulateResponse = z.object({
  v1_feasible: z.boolean(),
  v1_cost_cents: z.number(),
  v1_duration_ms: z.number(),
  v1_result: jsonObject,
  v2_result: jsonObject.optional(),
  comparison: jsonObject.optional().meta({ description: 'The comparison object of docs/domain.md §2.3' }),
  sandbox_enabled: z.boolean(),
  v2_error: z.string().optional(),
  run_id: z.string(),
  provenance_id: z.string().optional(),
});
