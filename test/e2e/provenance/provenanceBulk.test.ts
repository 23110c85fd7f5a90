import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { readFileSync, rmSync } from 'node:fs';
import { eventually } from '../../support/eventually';
import { startQuietServe } from '../../support/quietServe';
import { replicaEnv } from '../../support/replicaEnv';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * docs/api.md "Provenance" bulk writes: a 10 000-record JSON batch fits the provenance body limit
 * (COSTSIM_MAX_BATCH_BYTES, 64 MiB; 1 MiB elsewhere), and an NDJSON upload of 200 000 lines with bad
 * lines among them stores every good line exactly once, lists the bad ones by line, and is read as a
 * stream: the service's memory grows by a bounded amount, not by the size of the upload.
 */
jest.setTimeout(300_000);
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ PROJECTOR_BATCH_SIZE: '2000' });
});
afterAll(async () => t?.stop());

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const record = (i: number, prefix: string) => ({
  run_id: `${prefix}-${i}`,
  variant_slug: 'v2',
  source: 'backfill',
  input_hash: hash(`${prefix}-${i}`),
  v1_cost: i % 50,
  v2_cost: (i * 7) % 50,
  payload: { note: 'x'.repeat(120), i },
});
const recordedEvents = async (prefix: string) =>
  Number(
    (
      await t.db.pool.query(
        `select count(*) from es_events where event_type = 'ProvenanceRecorded' and data->>'run_id' like $1`,
        [`${prefix}-%`],
      )
    ).rows[0].count,
  );

test('a 10 000-record JSON batch (≈ 3 MiB, over the 1 MiB default) is accepted in one write', async () => {
  const records = Array.from({ length: 10_000 }, (_, i) => record(i, 'batch'));
  const body = JSON.stringify({ records });
  expect(Buffer.byteLength(body)).toBeGreaterThan(1024 * 1024);
  const res = await t.call('POST', '/costsim/provenance', { key: testKeys.write, body });
  expect(res.status).toBe(201);
  expect(((await res.json()) as { ids: string[] }).ids).toHaveLength(10_000);
  expect(await recordedEvents('batch')).toBe(10_000);
  // Elsewhere the limit stays 1 MiB.
  const big = await t.call('POST', '/costsim/breakers/costsim_v2/drift', {
    key: testKeys.write,
    body: { drift_score: 0.1, details: { pad: 'x'.repeat(1024 * 1024) } },
  });
  expect(big.status).toBe(413);
});

const LINES = 200_000;
/** Line numbers (1-based) that are bad, and why. */
const badKind = (line: number): 'json' | 'schema' | null =>
  line % 997 === 0 ? 'json' : line % 1009 === 0 ? 'schema' : null;

function* ndjson(lines = LINES, prefix = 'bulk'): Generator<string> {
  let batch = '';
  for (let line = 1; line <= lines; line++) {
    const kind = badKind(line);
    batch +=
      kind === 'json'
        ? `{"run_id": "${prefix}-${line}", broken\n`
        : kind === 'schema'
          ? `${JSON.stringify({ ...record(line, prefix), variant_slug: 'v9' })}\n`
          : `${JSON.stringify(record(line, prefix))}\n`;
    if (line % 1000 === 0) {
      yield batch;
      batch = '';
    }
  }
  if (batch) yield batch;
}

/** VmRSS and VmHWM (peak RSS over the process's life) of a process, in MiB (Linux /proc). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) / 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

test(`an NDJSON upload of ${LINES} lines: good lines stored exactly once, bad ones listed by line, memory bounded`, async () => {
  // The upload goes to a real serve process whose V8 old space is capped at 128 MiB (96 until the canary
  // and status slices joined the process: its resting heap grew past what 96 leaves): buffering the body
  // (61 MiB of bytes, twice that as a string, several times that as parsed records) could not fit, so the
  // process surviving, with its peak RSS printed, shows the body is streamed.
  const dirs: string[] = [];
  const serve = await startQuietServe({
    ...replicaEnv(t.db.url, 'ndjson', 0, dirs),
    NODE_OPTIONS: '--max-old-space-size=128',
    LOG_LEVEL: 'warn',
  });
  try {
    const before = memoryOf(serve.child.pid!);
    let bodyBytes = 0;
    const source = Readable.from(
      (function* () {
        for (const piece of ndjson()) {
          bodyBytes += Buffer.byteLength(piece);
          yield piece;
        }
      })(),
    );
    const started = Date.now();
    const res = await request(`${serve.url}/costsim/provenance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testKeys.write}`, 'content-type': 'application/x-ndjson' },
      body: source,
      headersTimeout: 280_000,
      bodyTimeout: 280_000,
    });
    const text = await res.body.text();
    const elapsed = Date.now() - started;
    expect({ status: res.statusCode, text: text.slice(0, 300) }).toEqual({
      status: 201,
      text: expect.any(String),
    });
    const after = memoryOf(serve.child.pid!);
    const result = JSON.parse(text) as {
      inserted: number;
      first_id: string;
      last_id: string;
      rejected: Array<{ line: number; errors: Array<{ path: string; message: string }> }>;
      rejected_count: number;
      rejected_truncated: boolean;
    };
    const bad = Array.from({ length: LINES }, (_, i) => i + 1).filter((l) => badKind(l) !== null);
    expect(result.inserted).toBe(LINES - bad.length);
    expect(result.rejected_count).toBe(bad.length);
    expect(result.rejected_truncated).toBe(false);
    expect(result.rejected.map((r) => r.line)).toEqual(bad);
    expect(result.rejected.find((r) => r.line === 997)!.errors).toEqual([
      { path: '', message: 'not valid JSON' },
    ]);
    expect(result.rejected.find((r) => r.line === 1009)!.errors[0]!.path).toBe('variant_slug');

    // Exactly once, in the log (the truth) and then in the read model; no bad line anywhere.
    expect(await recordedEvents('bulk')).toBe(LINES - bad.length);
    const { rows } = await t.db.pool.query<{ n: string }>(
      `select count(*) as n from es_events
        where event_type = 'ProvenanceRecorded' and data->>'run_id' = any($1::text[])`,
      [bad.map((l) => `bulk-${l}`)],
    );
    expect(rows[0]).toEqual({ n: '0' });
    const { rows: chunks } = await t.db.pool.query<{ streams: string; largest: string }>(
      `select count(*) as streams, max(n) as largest from (
         select stream_name, count(*) as n from es_events
          where event_type = 'ProvenanceRecorded' and data->>'run_id' like 'bulk-%' group by stream_name) s`,
    );
    expect(Number(chunks[0]!.largest)).toBeLessThanOrEqual(10_000); // chunks of ≤ 10 000, one append each
    await eventually(async () => {
      const { rows: p } = await t.db.pool.query(
        `select count(*) as n, count(distinct run_id) as runs from provenance where run_id like 'bulk-%'`,
      );
      expect(p[0]).toEqual({ n: String(LINES - bad.length), runs: String(LINES - bad.length) });
    }, 240_000);

    const bodyMiB = bodyBytes / 2 ** 20;
    console.log(
      `[ndjson] ${LINES} lines (${bodyMiB.toFixed(1)} MiB) in ${elapsed} ms, ${chunks[0]!.streams} appends; ` +
        `serve RSS ${before.rss.toFixed(0)} MiB before, peak ${after.peak.toFixed(0)} MiB ` +
        `(+${(after.peak - before.rss).toFixed(0)} MiB), old space capped at 128 MiB`,
    );
    expect(serve.child.exitCode).toBeNull(); // it did not run out of memory
    expect(after.peak - before.rss).toBeLessThan(128);
  } finally {
    await serve.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});

test('NDJSON: gzip is decoded; no good line → 400 listing them; bad gzip → 400; unauthenticated → 401 before reading', async () => {
  const lines = `${JSON.stringify(record(1, 'gz'))}\n${JSON.stringify(record(2, 'gz'))}\n`;
  const gz = await request(`${t.url}/costsim/provenance`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${testKeys.write}`,
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    },
    body: gzipSync(lines),
  });
  expect(gz.statusCode).toBe(201);
  expect(await gz.body.json()).toMatchObject({ inserted: 2, rejected: [] });

  const none = await t.call('POST', '/costsim/provenance', {
    key: testKeys.write,
    body: 'not json\n{"variant_slug":"v1"}\n',
    headers: { 'Content-Type': 'application/x-ndjson' },
  });
  expect(none.status).toBe(400);
  expect(none.headers.get('content-type')).toContain('application/problem+json');
  expect(await none.json()).toMatchObject({
    inserted: 0,
    rejected_count: 2,
    rejected: [{ line: 1 }, { line: 2 }],
  });

  const badGzip = await t.call('POST', '/costsim/provenance', {
    key: testKeys.write,
    body: lines,
    headers: { 'Content-Type': 'application/x-ndjson', 'Content-Encoding': 'gzip' },
  });
  expect(badGzip.status).toBe(400);

  const anonymous = await t.call('POST', '/costsim/provenance', {
    body: 'garbage',
    headers: { 'Content-Type': 'application/x-ndjson' },
  });
  expect(anonymous.status).toBe(401);
  expect(await recordedEvents('gz')).toBe(2);
});
