import { z } from 'zod';
import { PROVENANCE_SOURCES, PROVENANCE_VARIANTS } from '../../domain/provenance/provenanceRecorded';
import { tenantIdSchema } from '../../infra/http/auth';
import {
  amount,
  calendarDay,
  isoInstant,
  queryInt,
  storableJsonObject,
  storableText,
} from '../../infra/http/validation';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest (64 lowercase hex chars)');
const text = (max: number) => storableText(1, max);

export const MAX_RECORDS_PER_WRITE = 10_000;

/** One record as a client writes it (docs/domain.md §5); id, cost_delta and (by default) created_at are ours. */
export const provenanceRecordBody = z
  .object({
    run_id: text(200).nullish(),
    tenant_id: tenantIdSchema.nullish(),
    variant_slug: z.enum(PROVENANCE_VARIANTS),
    source: z.enum(PROVENANCE_SOURCES),
    model_version: text(100).nullish(),
    adapter_version: text(100).nullish(),
    commit_sha: text(100).nullish(),
    input_hash: sha256Hex,
    output_hash: sha256Hex.nullish(),
    v1_cost: amount.nullish(),
    v2_cost: amount.nullish(),
    drift_score: z.number().min(0).max(1).nullish(),
    verdict: z.enum(['match', 'minor_drift', 'major_drift', 'mismatch']).nullish(),
    payload: storableJsonObject.optional(),
    runtime_ms: amount.nullish(),
    /** backfills keep the original time; otherwise the time of the write */
    created_at: isoInstant.optional(),
  })
  .strict();

export const provenanceBatchBody = z
  .object({ records: z.array(provenanceRecordBody).min(1).max(MAX_RECORDS_PER_WRITE) })
  .strict();

/** What POST /costsim/provenance takes as JSON: one record, or a batch (documented as either). */
export const provenanceWriteBody = z.union([provenanceRecordBody, provenanceBatchBody]);

/** A calendar day (whole day, inclusive) or an instant. */
const dateBound = z.union([calendarDay, isoInstant], {
  message: 'must be a date (YYYY-MM-DD) or an ISO timestamp',
});

export const provenanceListQuery = z
  .object({
    variant_slug: z.enum(PROVENANCE_VARIANTS).optional(),
    source: z.enum(PROVENANCE_SOURCES).optional(),
    input_hash: sha256Hex.optional(),
    run_id: text(200).optional(),
    tenant_id: tenantIdSchema.optional(),
    start_date: dateBound.optional(),
    end_date: dateBound.optional(),
    limit: queryInt(1, 1000).optional(),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,200}$/, 'invalid cursor')
      .optional(),
  })
  .strict();

export const driftStatsQuery = z
  .object({
    start_date: dateBound.optional(),
    end_date: dateBound.optional(),
    group_by: z.enum(['none', 'variant', 'tenant']).optional(),
    tenant_id: tenantIdSchema.optional(),
  })
  .strict();

export const divergenceQuery = z
  .object({
    start_date: dateBound.optional(),
    end_date: dateBound.optional(),
    days: queryInt(1, 90).optional(),
    tenant_id: tenantIdSchema.optional(),
  })
  .strict();
