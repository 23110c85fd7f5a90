import type pg from 'pg';
import type { StoredEvent } from '../../infra/eventStore/eventStore';
import {
  type EventRange,
  type Projection,
  type RangeStatement,
  decodeEvent,
  eventRangeCondition,
  parkAny,
} from '../projection';
import type { ProvenanceRetentionApplied } from '../../domain/provenance/provenanceRecorded';

/**
 * One INSERT carries at most this much JSON: a jsonb value (and its array) is capped at 256 MiB, and one
 * batch of large records must not come near it (300 records of 1 MiB once froze every projection).
 */
export const MAX_STATEMENT_JSON_BYTES = 32 * 1024 * 1024;

/**
 * provenance rows from ProvenanceRecorded events, a batch in as few statements as its size allows (a write
 * of 10 000 small records is one statement). Idempotent by record id, so rebuilds and replays add nothing
 * twice.
 */
export const provenanceProjection: Projection = {
  name: 'provenance',
  handles: ['ProvenanceRecorded', 'ProvenanceRetentionApplied'],
  tables: ['provenance'],
  // Tenants' data: a record that cannot be stored is parked as a dead letter, the rest goes on.
  mayPark: parkAny,
  // Retention applies its cut-off inline with its event, then the projector again.
  writtenOutsideProjector: true,
  // Records are inserted straight from the stored events; retention events still come through `apply`.
  rangeTypes: ['ProvenanceRecorded'],
  rangeStatement: insertRecordsInRange,
  async apply(tx: pg.ClientBase, all: readonly StoredEvent[]) {
    // In order: records up to a retention event, the retention, then the records after it.
    let start = 0;
    for (let i = 0; i <= all.length; i++) {
      if (i < all.length && all[i]!.type === 'ProvenanceRecorded') continue;
      await insertRecords(tx, all.slice(start, i));
      if (i < all.length) await applyRetentionEvents(tx, [all[i]!]);
      start = i + 1;
    }
  },
};

/** The retention events among stored events, applied: returns the rows removed (retention logs it). */
export async function applyRetentionEvents(
  tx: pg.ClientBase,
  events: readonly StoredEvent[],
): Promise<number> {
  let removed = 0;
  for (const e of events) {
    if (e.type === 'ProvenanceRetentionApplied')
      removed += await applyRetention(tx, decodeEvent<ProvenanceRetentionApplied>(e).data);
  }
  return removed;
}

/** Idempotent: a record's row goes when its creation is older than the cut-off. */
export async function applyRetention(db: pg.ClientBase | pg.Pool, data: { before: string }): Promise<number> {
  const { rowCount } = await db.query('delete from provenance where created_at < $1', [data.before]);
  return rowCount ?? 0;
}

/** Records in statements of at most MAX_STATEMENT_JSON_BYTES of JSON (UTF-16 units) each; one record may exceed it alone. */
async function insertRecords(tx: pg.ClientBase, events: readonly StoredEvent[]): Promise<void> {
  let chunk: string[] = [];
  let bytes = 0;
  for (const event of events) {
    const json = JSON.stringify(event.data);
    if (chunk.length > 0 && bytes + json.length > MAX_STATEMENT_JSON_BYTES) {
      await insertChunk(tx, chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(json);
    bytes += json.length;
  }
  if (chunk.length > 0) await insertChunk(tx, chunk);
}

/** The columns written and how each comes from a record's JSON `r`: one list for both ways in. */
const COLUMNS = `id, run_id, tenant_id, variant_slug, source, model_version, adapter_version, commit_sha, input_hash,
   output_hash, v1_cost, v2_cost, cost_delta, drift_score, verdict, payload, runtime_ms, created_at`;
const VALUES = `r.id, r.run_id, r.tenant_id, r.variant_slug, r.source, r.model_version, r.adapter_version,
   r.commit_sha, r.input_hash, r.output_hash, r.v1_cost, r.v2_cost, r.cost_delta, r.drift_score, r.verdict,
   coalesce(r.payload, '{}'::jsonb), r.runtime_ms, r.created_at`;
const RECORD = `r(id uuid, run_id text, tenant_id text, variant_slug text, source text, model_version text,
   adapter_version text, commit_sha text, input_hash text, output_hash text, v1_cost float8, v2_cost float8,
   cost_delta float8, drift_score float8, verdict text, payload jsonb, runtime_ms float8, created_at timestamptz)`;

/**
 * The set-based way in: the records of a range inserted from the stored event rows in one statement —
 * no payload is parsed into JavaScript, re-serialised and parsed again (that round trip held the
 * projection to about a fifth of what the table takes). jsonb_to_record converts exactly as
 * jsonb_to_recordset does for `apply`, so both give the same rows. Commit order, so of two records with
 * one id the first stays, as in `apply`. es_events is unqualified: under a rebuild's search_path it
 * still resolves to the store's table (the rebuild schema holds only this projection's copies).
 */
function insertRecordsInRange(range: EventRange): RangeStatement {
  const inRange = eventRangeCondition(range);
  return {
    text: `insert into provenance (${COLUMNS})
       select ${VALUES}
         from es_events e cross join lateral jsonb_to_record(e.data) as ${RECORD}
        where ${inRange.text}
        order by e.transaction_id, e.global_position
       on conflict (id) do nothing`,
    values: inRange.values,
  };
}

async function insertChunk(tx: pg.ClientBase, records: readonly string[]): Promise<void> {
  await tx.query(
    `insert into provenance (${COLUMNS})
       select ${VALUES} from jsonb_to_recordset($1::jsonb) as ${RECORD}
       on conflict (id) do nothing`,
    [`[${records.join(',')}]`],
  );
}
