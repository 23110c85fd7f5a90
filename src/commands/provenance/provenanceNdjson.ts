import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Request } from 'express';
import type { Principal } from '../../infra/http/auth';
import { HttpProblem, problems, type FieldError } from '../../infra/http/problem';
import { safeParseStorable } from '../../infra/http/validation';
import { ndjsonLines } from './ndjsonLines';
import { MAX_RECORDS_PER_WRITE, provenanceRecordBody } from './provenanceSchemas';
import type { NewProvenanceRecord, ProvenanceWriter } from './provenanceWriter';

export const NDJSON = 'application/x-ndjson';
/** A line holds one record: the JSON body limit of every other route. */
export const MAX_NDJSON_LINE_BYTES = 1024 * 1024;
/**
 * The answer lists at most this many rejected lines (with their errors); `rejected_count` counts them
 * all. A stream of bad lines cannot grow the answer (or memory) without bound.
 */
export const MAX_REJECTED_LISTED = 1000;

export interface RejectedLine {
  line: number;
  errors: FieldError[];
}

export interface NdjsonResult {
  inserted: number;
  first_id: string | null;
  last_id: string | null;
  rejected: RejectedLine[];
  rejected_count: number;
  rejected_truncated: boolean;
}

/** The request body as bytes, decoded per its Content-Encoding (identity, gzip, deflate, br). */
function decodedBody(req: Request): AsyncIterable<Buffer> {
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return req;
  const decoder =
    encoding === 'gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : null;
  if (!decoder) {
    throw problems.unsupportedMediaType(
      `Unsupported Content-Encoding "${encoding}" (identity, gzip, deflate or br)`,
    );
  }
  req.on('error', (err) => decoder.destroy(err));
  return req.pipe(decoder);
}

/**
 * docs/api.md "Provenance", NDJSON as a bulk API: each line is validated on its own; good lines are written in
 * chunks of at most 10 000 records and `maxChunkBytes` (one append each, through the ProvenanceWriter);
 * bad lines are written nowhere and listed. The body is read as a stream with back-pressure (reading
 * pauses while a chunk is appended), so memory stays bounded by one chunk whatever the upload's size.
 */
export async function ingestNdjson(
  req: Request,
  deps: {
    writer: ProvenanceWriter;
    principal: Principal;
    toRecord: (
      input: ReturnType<typeof provenanceRecordBody.parse>,
      principal: Principal,
    ) => NewProvenanceRecord;
    maxChunkBytes: number;
    metadata: Record<string, unknown>;
  },
): Promise<NdjsonResult> {
  const result: NdjsonResult = {
    inserted: 0,
    first_id: null,
    last_id: null,
    rejected: [],
    rejected_count: 0,
    rejected_truncated: false,
  };
  const reject = (line: number, errors: FieldError[]) => {
    result.rejected_count++;
    if (result.rejected.length < MAX_REJECTED_LISTED) result.rejected.push({ line, errors });
    else result.rejected_truncated = true;
  };
  let chunk: NewProvenanceRecord[] = [];
  let chunkBytes = 0;
  let lastStoredLine = 0;
  let chunkLastLine = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    let ids: string[];
    try {
      ids = await deps.writer.write(chunk, deps.metadata);
    } catch (err) {
      // What was stored stays stored: say exactly how far the upload got, so a client resumes after it.
      throw new HttpProblem({
        status: 503,
        title: 'Service Unavailable',
        detail: `Writing lines up to ${chunkLastLine} failed; lines up to ${lastStoredLine} are stored`,
        slug: 'ndjson-partial',
        headers: { 'Retry-After': '1' },
        extensions: {
          inserted: result.inserted,
          first_id: result.first_id,
          last_id: result.last_id,
          stored_through_line: lastStoredLine,
          cause: err instanceof Error ? err.name : 'error',
        },
      });
    }
    result.inserted += ids.length;
    result.first_id ??= ids[0] ?? null;
    result.last_id = ids[ids.length - 1] ?? result.last_id;
    lastStoredLine = chunkLastLine;
    chunk = [];
    chunkBytes = 0;
  };

  const lines = ndjsonLines(decodedBody(req), MAX_NDJSON_LINE_BYTES);
  const next = async () => {
    try {
      return await lines.next();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('Z_')) {
        throw new HttpProblem({
          status: 400,
          title: 'Bad Content-Encoding',
          detail: `The body is not valid ${req.get('content-encoding')} data; lines up to ${lastStoredLine} are stored`,
          slug: 'bad-content-encoding',
          extensions: {
            inserted: result.inserted,
            first_id: result.first_id,
            last_id: result.last_id,
            stored_through_line: lastStoredLine,
          },
        });
      }
      throw err;
    }
  };
  for (let step = await next(); !step.done; step = await next()) {
    const item = step.value;
    if ('tooLong' in item) {
      reject(item.line, [
        { path: '', message: `line of ${item.bytes} bytes exceeds ${MAX_NDJSON_LINE_BYTES}` },
      ]);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(item.text);
    } catch {
      reject(item.line, [{ path: '', message: 'not valid JSON' }]);
      continue;
    }
    const parsed = safeParseStorable(provenanceRecordBody, value, '');
    if (!parsed.success) {
      reject(item.line, parsed.errors);
      continue;
    }
    let record: NewProvenanceRecord;
    try {
      record = deps.toRecord(parsed.data, deps.principal);
    } catch (err) {
      if (err instanceof HttpProblem) {
        reject(item.line, [{ path: 'tenant_id', message: err.detail }]);
        continue;
      }
      throw err;
    }
    chunk.push(record);
    chunkBytes += Buffer.byteLength(item.text);
    chunkLastLine = item.line;
    if (chunk.length >= MAX_RECORDS_PER_WRITE || chunkBytes >= deps.maxChunkBytes) await flush();
  }
  await flush();
  return result;
}
