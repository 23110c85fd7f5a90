import { z } from 'zod';
import { isoString } from '../../infra/http/responseSchemas';

/** Response schemas of the canary and dataset routes (docs/api.md), for /openapi.json. */
export const goldenThresholdsResponse = z
  .object({
    max_mean_error: z.number(),
    max_median_error: z.number(),
    max_std_deviation: z.number(),
    max_outlier_pct: z.number(),
    max_drift_score: z.number(),
  })
  .meta({ id: 'GoldenThresholds' });

export const goldenValidationResponse = z
  .object({
    dataset_id: z.string(),
    dataset_name: z.string(),
    sample_count: z.number().int(),
    mean_error: z.number(),
    median_error: z.number(),
    std_deviation: z.number(),
    outlier_pct: z.number(),
    drift_score: z.number(),
    verdict: z.enum(['acceptable', 'not_acceptable']),
    details: z.object({
      thresholds: goldenThresholdsResponse,
      errors_count: z.number().int(),
      outliers_count: z.number().int(),
      exceeded: z.array(z.object({ metric: z.string(), value: z.number(), threshold: z.number() })),
    }),
  })
  .meta({ id: 'GoldenValidationResult' });

export const datasetSummaryResponse = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    sample_count: z.number().int(),
    thresholds: goldenThresholdsResponse,
  })
  .meta({ id: 'DatasetSummary' });

export const datasetListResponse = z.array(datasetSummaryResponse);

export const datasetResponse = datasetSummaryResponse
  .extend({ samples: z.array(z.record(z.string(), z.unknown())) })
  .meta({ id: 'Dataset' });

export const validateAllResponse = z.object({
  all_passed: z.boolean(),
  results: z.array(goldenValidationResponse),
  timestamp: isoString,
});

export const canaryReportResponse = z
  .object({
    run_id: z.string(),
    timestamp: isoString,
    started_at: isoString,
    trigger: z.enum(['manual', 'schedule', 'cli', 'recovery']),
    status: z.enum(['pass', 'fail', 'error', 'skipped']),
    total_samples: z.number().int(),
    matching_samples: z.number().int(),
    minor_drift_samples: z.number().int(),
    major_drift_samples: z.number().int(),
    median_cost_diff: z.number(),
    p90_cost_diff: z.number(),
    kl_divergence: z.number(),
    outlier_count: z.number().int(),
    passed: z.boolean(),
    failure_reasons: z.array(z.string()),
    golden_comparison: z.array(goldenValidationResponse),
    thresholds: z.object({
      kl_divergence: z.number(),
      outlier_ratio: z.number(),
      major_ratio: z.number(),
      paired_alpha: z.number().nullable(),
    }),
    paired_test: z
      .object({
        test: z.literal('wilcoxon_signed_rank'),
        n: z.number().int(),
        zero_differences: z.number().int(),
        w_plus: z.number(),
        w_minus: z.number(),
        statistic: z.number(),
        p_value: z.number(),
        method: z.enum(['exact', 'normal_approximation', 'none']),
        effect_size: z.number(),
      })
      .nullable(),
    sources: z.object({ provenance_samples: z.number().int(), dataset_samples: z.number().int() }),
    failed_on_outliers_only: z.boolean(),
  })
  .meta({ id: 'CanaryReport' });

export const canaryReportListResponse = z.object({
  reports: z.array(canaryReportResponse),
  total: z.number().int(),
});
