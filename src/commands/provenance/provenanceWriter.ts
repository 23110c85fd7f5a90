import { randomUUID } from 'node:crypto';
import {
  type ProvenanceRecord,
  type ProvenanceRecorded,
  costDelta,
  provenanceStream,
} from '../../domain/provenance/provenanceRecorded';
import { assertStorableRecord } from '../../domain/provenance/provenanceValidation';
import type { EventStore, JsonObject, StreamAppend } from '../../infra/eventStore/eventStore';

/** A record as writers give it: ids, cost_delta and (unless given) created_at are the writer's. */
export type NewProvenanceRecord = Omit<ProvenanceRecord, 'id' | 'cost_delta' | 'created_at'> & {
  created_at?: string;
};

/** Records built between two turns of the event loop (a 10 000-record write never holds it for long). */
const CHUNK = 500;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Writes provenance records: every record of one call in ONE append to a stream of its own (all or
 * nothing; no two writers ever contend on a stream), with server ids returned in order. A large write
 * builds its events in chunks, yielding between them, so the replica's other work — the V2 gate reading
 * breaker events, status and simulate requests — is not held up behind it (docs/gate.md).
 */
export class ProvenanceWriter {
  constructor(
    private readonly store: EventStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async write(records: readonly NewProvenanceRecord[], metadata: JsonObject = {}): Promise<string[]> {
    const now = this.clock().toISOString();
    const events: Array<ProvenanceRecorded & { id: string; metadata: JsonObject }> = [];
    for (let i = 0; i < records.length; i++) {
      if (i > 0 && i % CHUNK === 0) await nextTurn();
      events.push(eventOf(records[i]!, now, metadata));
    }
    await this.store.append(provenanceStream(randomUUID()), events, { expected: 'no_stream' });
    return events.map((e) => e.id);
  }

  /**
   * One record as the events another append stores beside its own (EventStore.appendWith's companions): a
   * stream of its own, as write gives it, and the record's id. Throws, before anything is written, for a
   * record the projection could not hold (InvalidProvenanceRecordError).
   */
  companionOf(record: NewProvenanceRecord, metadata: JsonObject = {}): { id: string; append: StreamAppend } {
    const event = eventOf(record, this.clock().toISOString(), metadata);
    return { id: event.id, append: { stream: provenanceStream(randomUUID()), events: [event] } };
  }
}

function eventOf(
  r: NewProvenanceRecord,
  now: string,
  metadata: JsonObject,
): ProvenanceRecorded & { id: string; metadata: JsonObject } {
  // Before anything is written: a record the projection could not hold fails this write, not the projector.
  assertStorableRecord(r);
  const id = randomUUID();
  const data: ProvenanceRecord = {
    ...r,
    id,
    cost_delta: costDelta(r.v1_cost, r.v2_cost),
    created_at: r.created_at ?? now,
  };
  return { id, type: 'ProvenanceRecorded', data, metadata };
}
