import { z } from 'zod';
import { tenantIdSchema } from '../../infra/http/auth';
import { storableJsonObject } from '../../infra/http/validation';

/** docs/api.md POST /costsim/v2/simulate. */
export const simulateBody = z
  .object({
    plan: z
      .array(
        z
          .object({
            skill: z.string().max(200).nullish(),
            params: storableJsonObject.nullish(),
            iterations: z.number().int().min(1).max(100).nullish(),
          })
          .strict(),
      )
      .max(100),
    budget_cents: z.number().int().min(0).nullish(),
    allowed_skills: z.array(z.string().max(200)).max(100).nullish(),
    risk_threshold: z.number().min(0).max(1).nullish(),
    run_id: z.string().min(1).max(200).nullish(),
    tenant_id: tenantIdSchema.nullish(),
  })
  .strict();

export type SimulateBody = z.infer<typeof simulateBody>;
