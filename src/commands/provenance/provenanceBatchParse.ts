import { z } from 'zod';
import { MAX_JSON_DEPTH, isStorable } from '../../domain/storableValues';
import { parseOrThrow } from '../../infra/http/validation';
import { MAX_RECORDS_PER_WRITE, provenanceBatchBody, provenanceRecordBody } from './provenanceSchemas';

/** Records validated between two turns of the event loop. */
const CHUNK = 500;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The batch without its records' contents: they are checked one at a time below. */
const batchEnvelope = z.object({ records: z.array(z.unknown()).min(1).max(MAX_RECORDS_PER_WRITE) }).strict();

/** A record sits at depth 3 of the body (body → records → record), so it may nest two levels less. */
const RECORD_MAX_DEPTH = MAX_JSON_DEPTH - 2;

/**
 * `parseOrThrow(provenanceBatchBody, body, 'body').records`, without holding the event loop for the
 * whole batch: one parse of 10 000 records takes tens of milliseconds of CPU in one piece, and on a busy
 * machine a replica's V2 gate, status and simulate answers would wait behind it (docs/gate.md). A valid
 * batch — nearly every batch — is checked record by record, yielding every CHUNK records; the result is
 * the same value the whole-body parse returns. Anything wrong anywhere falls back to that whole-body parse,
 * so a refused batch names every bad field exactly as before (the error path stays one code path).
 */
export async function parseProvenanceBatch(
  body: object,
): Promise<Array<z.infer<typeof provenanceRecordBody>>> {
  const envelope = batchEnvelope.safeParse(body);
  if (envelope.success) {
    const given = envelope.data.records;
    const records: Array<z.infer<typeof provenanceRecordBody>> = [];
    for (let i = 0; i < given.length; i++) {
      if (i > 0 && i % CHUNK === 0) await nextTurn();
      const record = given[i];
      if (!isStorable(record, RECORD_MAX_DEPTH)) break;
      const parsed = provenanceRecordBody.safeParse(record);
      if (!parsed.success) break;
      records.push(parsed.data);
    }
    if (records.length === given.length) return records;
  }
  return parseOrThrow(provenanceBatchBody, body, 'body').records;
}
