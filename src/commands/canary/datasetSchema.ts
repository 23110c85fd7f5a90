import { z } from 'zod';
import { storableJsonObject } from '../../infra/http/validation';

const positive = z.number().finite().positive();

/**
 * A golden dataset file (docs/domain.md §6): `{id, name, description, thresholds, samples}`. Unknown fields are
 * ignored (the original's files carry none, an operator's may); every threshold must be positive, since
 * the drift score divides by it.
 */
export const goldenDatasetFile = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$'),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  thresholds: z.object({
    max_mean_error: positive,
    max_median_error: positive,
    max_std_deviation: positive,
    max_outlier_pct: positive,
    max_drift_score: positive,
  }),
  samples: z
    .array(
      z.object({
        id: z.string().min(1).max(200),
        plan: z
          .array(
            z.object({
              skill: z.string().max(200).nullish(),
              params: storableJsonObject.nullish(),
              iterations: z.number().int().min(1).max(100).nullish(),
            }),
          )
          .max(100),
        budget_cents: z.number().int().min(0).optional(),
        expected_cost_cents: z.number().finite().min(0).optional(),
        expected_feasible: z.boolean().optional(),
        expected_confidence_min: z.number().min(0).max(1).optional(),
        tags: z.array(z.string()).default([]),
      }),
    )
    .min(1)
    .max(10_000),
});
