import { randomUUID } from 'node:crypto';
import {
  type ProvenanceRecord,
  type ProvenanceRecorded,
  costDelta,
  provenanceStream,
} from '../../domain/provenance/provenanceRecorded';
import { assertStorableRecord } from '../../domain/provenance/provenanceValidation';
import type { EventStore, JsonObject } from '../../infra/eventStore/eventStore';

/** A record as writers give it: ids, cost_delta and (unless given) created_at are the writer's. */
export type NewProvenanceRecord = Omit<ProvenanceRecord, 'id' | 'cost_delta' | 'created_at'> & {
  created_at?: string;
};

/**
 * Writes provenance records: every record of one call in ONE append to a stream of its own (all or
 * nothing; no two writers ever contend on a stream), with server ids returned in order.
 */
export class ProvenanceWriter {
  constructor(private readonly store: EventStore) {}

  async write(records: readonly NewProvenanceRecord[], metadata: JsonObject = {}): Promise<string[]> {
    // Before anything is written: a record the projection could not hold fails this write, not the projector.
    for (const r of records) assertStorableRecord(r);
    const now = new Date().toISOString();
    const full: ProvenanceRecord[] = records.map((r) => ({
      ...r,
      id: randomUUID(),
      cost_delta: costDelta(r.v1_cost, r.v2_cost),
      created_at: r.created_at ?? now,
    }));
    const events: ProvenanceRecorded[] = full.map((data) => ({ type: 'ProvenanceRecorded', data }));
    await this.store.append(
      provenanceStream(randomUUID()),
      events.map((e) => ({ ...e, id: e.data.id, metadata })),
      { expected: 'no_stream' },
    );
    return full.map((r) => r.id);
  }
}
