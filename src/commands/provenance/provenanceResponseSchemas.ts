import { z } from 'zod';
import { isoString, jsonObject } from '../../infra/http/responseSchemas';

/** Response schemas of the provenance routes (docs/api.md "Provenance"), for /openapi.json. */
export const provenanceRecordResponse = z
  .object({
    id: z.string(),
    run_id: z.string().nullable(),
    tenant_id: z.string().nullable(),
    variant_slug: z.string(),
    source: z.string(),
    model_version: z.string().nullable(),
    adapter_version: z.string().nullable(),
    commit_sha: z.string().nullable(),
    input_hash: z.string(),
    output_hash: z.string().nullable(),
    v1_cost: z.number().nullable(),
    v2_cost: z.number().nullable(),
    cost_delta: z.number().nullable(),
    drift_score: z.number().nullable(),
    verdict: z.string().nullable(),
    payload: jsonObject,
    runtime_ms: z.number().nullable(),
    created_at: isoString,
  })
  .meta({ id: 'ProvenanceRecord' });

/** `{ids}` for JSON writes; the NDJSON bulk answer for application/x-ndjson uploads. */
export const provenanceWriteResponse = z.union([
  z.object({ ids: z.array(z.string()) }),
  z
    .object({
      inserted: z.number().int(),
      first_id: z.string().nullable(),
      last_id: z.string().nullable(),
      rejected: z.array(
        z.object({
          line: z.number().int(),
          errors: z.array(z.object({ path: z.string(), message: z.string() })),
        }),
      ),
      rejected_count: z.number().int(),
      rejected_truncated: z.boolean(),
    })
    .meta({ id: 'NdjsonIngestResult' }),
]);

export const provenanceListResponse = z.object({
  records: z.array(provenanceRecordResponse),
  next_cursor: z.string().nullable(),
});

const stats = {
  total: z.number().int(),
  avg_delta: z.number().nullable(),
  min_delta: z.number().nullable(),
  max_delta: z.number().nullable(),
  stddev_delta: z.number().nullable(),
  p50_delta: z.number().nullable(),
  p90_delta: z.number().nullable(),
  p99_delta: z.number().nullable(),
};
export const driftStatsResponse = z.object({
  ...stats,
  /** by variant or tenant (group_by), keyed by its value */
  groups: z.record(z.string(), z.object(stats)).optional(),
});

export const divergenceResponse = z
  .object({
    start_date: z.string(),
    end_date: z.string(),
    version: z.string(),
    sample_count: z.number().int(),
    delta_p50: z.number(),
    delta_p90: z.number(),
    kl_divergence: z.number(),
    outlier_count: z.number().int(),
    fail_ratio: z.number(),
    matching_rate: z.number(),
    detailed_samples: z.array(jsonObject),
  })
  .catchall(z.unknown());
