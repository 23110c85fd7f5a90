import type { DomainEvent } from '../decider';

export const PROVENANCE_VARIANTS = ['v1', 'v2', 'canary'] as const;
export const PROVENANCE_SOURCES = ['sandbox', 'canary', 'manual', 'backfill'] as const;

/** One provenance record (docs/domain.md §5), as stored in its event and its row. */
export interface ProvenanceRecord {
  readonly id: string;
  readonly run_id: string | null;
  readonly tenant_id: string | null;
  readonly variant_slug: (typeof PROVENANCE_VARIANTS)[number];
  readonly source: (typeof PROVENANCE_SOURCES)[number];
  readonly model_version: string | null;
  readonly adapter_version: string | null;
  readonly commit_sha: string | null;
  readonly input_hash: string;
  readonly output_hash: string | null;
  readonly v1_cost: number | null;
  readonly v2_cost: number | null;
  /** v2 − v1 when both are present (never taken from the caller) */
  readonly cost_delta: number | null;
  readonly drift_score: number | null;
  readonly verdict: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly runtime_ms: number | null;
  readonly created_at: string;
}

export type ProvenanceRecorded = DomainEvent<'ProvenanceRecorded', ProvenanceRecord>;

/** A write's records go to one new stream: independent writes never contend (docs/architecture.md). */
export const provenanceStream = (writeId: string) => `provenance-${writeId}`;

/** cost_delta is derived, so it is always consistent with the two costs. */
export const costDelta = (v1: number | null, v2: number | null): number | null =>
  v1 !== null && v2 !== null ? v2 - v1 : null;

/**
 * Retention (docs/domain.md §5): records created before `before` leave the read model. The events stay in the
 * log (the archive), and a rebuild replays this event too, so purged records do not come back.
 */
export type ProvenanceRetentionApplied = DomainEvent<
  'ProvenanceRetentionApplied',
  { readonly before: string; readonly retention_days: number; readonly at: string }
>;

export const PROVENANCE_RETENTION_STREAM = 'provenance_retention';
