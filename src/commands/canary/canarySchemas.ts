import { z } from 'zod';
import { queryBool, queryInt } from '../../infra/http/validation';

const datasetId = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must be a dataset id');

/** docs/api.md POST /costsim/canary/run: `dataset_ids` absent = every dataset, [] = none. */
export const canaryRunBody = z
  .object({
    sample_count: z.number().int().min(10).max(1000).optional(),
    dataset_ids: z.array(datasetId).max(100).optional(),
  })
  .strict();

export const canaryRunStatus = z.enum(['pass', 'fail', 'error', 'skipped']);

export const canaryReportsQuery = z
  .object({
    limit: queryInt(1, 1000).optional(),
    status: canaryRunStatus.optional(),
    passed: queryBool.optional(),
  })
  .strict();

export const datasetIdParam = datasetId;
