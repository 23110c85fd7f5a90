import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { IdempotencyConflictError } from '../../../src/infra/eventStore/eventStore';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';

/**
 * es_append with arrays (migration 061): idempotency is checked only when the INSERT's ON CONFLICT
 * (event_id) skipped a row or the expectation failed; the rules are the jsonb version's.
 */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

const stream = () => `arrays-${randomUUID()}`;

interface Row {
  stream_version: string;
  global_position: string;
  transaction_id: string;
  already_stored: boolean;
}

/** es_append called directly, as SQL: the pg error (code, detail) comes back unchanged. */
function esAppend(s: string, kind: string, expected: number | null, ids: string[], types?: string[]) {
  return db.pool
    .query<Row>(
      `select stream_version, global_position, transaction_id::text, already_stored
         from es_append($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], null)`,
      [s, kind, expected, ids, types ?? ids.map(() => 'Arrayed'), ids.map((id) => JSON.stringify({ id }))],
    )
    .then((r) => r.rows);
}

const versions = async (s: string) =>
  (
    await db.pool.query<{ v: string }>(
      'select stream_version as v from es_events where stream_name = $1 order by stream_version',
      [s],
    )
  ).rows.map((r) => Number(r.v));

test('a re-append of stored ids returns the stored rows, whatever the expectation, and writes nothing', async () => {
  const s = stream();
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  const first = await esAppend(s, 'no_stream', null, ids);
  expect(first.map((r) => [r.stream_version, r.already_stored])).toEqual([
    ['1', false],
    ['2', false],
    ['3', false],
  ]);
  for (const [kind, expected] of [
    ['no_stream', null],
    ['exact', 0],
    ['exact', 3],
    ['any', null],
  ] as const) {
    const again = await esAppend(s, kind, expected, ids);
    expect(again.map((r) => r.already_stored)).toEqual([true, true, true]);
    expect(again.map(({ already_stored: _, ...r }) => r)).toEqual(
      first.map(({ already_stored: _, ...r }) => r),
    );
  }
  expect(await versions(s)).toEqual([1, 2, 3]);
});

test('a partial overlap is CS002 and stores none of the new events; so are ids stored in another stream', async () => {
  const s = stream();
  const stored = randomUUID();
  await esAppend(s, 'any', null, [stored]);
  const fresh = randomUUID();
  // Stored id first, then a new one; then the new one first (the INSERT stores it before skipping).
  await expect(esAppend(s, 'any', null, [stored, fresh])).rejects.toMatchObject({ code: 'CS002' });
  await expect(esAppend(s, 'exact', 1, [fresh, stored])).rejects.toMatchObject({ code: 'CS002' });
  // With a failing expectation the stored id is still recognised: CS002, not a version error.
  await expect(esAppend(s, 'no_stream', null, [fresh, stored])).rejects.toMatchObject({ code: 'CS002' });
  await expect(esAppend(stream(), 'any', null, [stored])).rejects.toMatchObject({ code: 'CS002' });
  // One id twice in one append is not a batch that can be stored either.
  await expect(esAppend(s, 'any', null, [fresh, fresh])).rejects.toMatchObject({ code: 'CS002' });
  expect(await versions(s)).toEqual([1]);
  const { rows } = await db.pool.query('select 1 from es_events where event_id = $1', [fresh]);
  expect(rows).toHaveLength(0);
  await expect(
    store.append(s, [
      { id: stored, type: 'A', data: {} },
      { id: fresh, type: 'B', data: {} },
    ]),
  ).rejects.toBeInstanceOf(IdempotencyConflictError);
});

test("the store's plain INSERT stores nothing of a batch whose later id is stored: es_append's rules decide", async () => {
  const s = stream();
  const stored = randomUUID();
  await store.append(s, [{ id: stored, type: 'A', data: {} }], { expected: 'no_stream' });
  const fresh = randomUUID();
  // The new id first: the INSERT has written its row when the stored id fails it, and the statement goes.
  for (const expected of ['any', 1, 'no_stream'] as const) {
    await expect(
      store.append(
        s,
        [
          { id: fresh, type: 'B', data: {} },
          { id: stored, type: 'A', data: {} },
        ],
        { expected },
      ),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
  }
  const { rows } = await db.pool.query('select 1 from es_events where event_id = $1', [fresh]);
  expect(rows).toHaveLength(0);
  // The positions the store returns are the stored rows', whichever statement wrote them.
  const next = await store.append(s, [
    { type: 'C', data: { n: 1 } },
    { type: 'C', data: { n: 2 } },
  ]);
  const direct = await esAppend(s, 'exact', 3, [randomUUID()]);
  const { rows: kept } = await db.pool.query<{ v: string; p: string; t: string }>(
    `select stream_version as v, global_position as p, transaction_id::text as t from es_events
      where stream_name = $1 order by stream_version`,
    [s],
  );
  expect(next.positions.map((p) => [p.streamVersion, p.globalPosition, p.transactionId])).toEqual(
    kept.slice(1, 3).map((r) => [Number(r.v), Number(r.p), r.t]),
  );
  expect(direct.map((r) => r.stream_version)).toEqual(['4']);
  expect(await versions(s)).toEqual([1, 2, 3, 4]);
});

test('a wrong expectation on new events is CS001 with the actual version', async () => {
  const s = stream();
  await esAppend(s, 'any', null, [randomUUID(), randomUUID()]);
  await expect(esAppend(s, 'exact', 1, [randomUUID()])).rejects.toMatchObject({ code: 'CS001', detail: '2' });
  await expect(esAppend(s, 'no_stream', null, [randomUUID()])).rejects.toMatchObject({ code: 'CS001' });
  await expect(esAppend(stream(), 'stream_exists', null, [randomUUID()])).rejects.toMatchObject({
    code: 'CS001',
    detail: '0',
  });
  expect(await versions(s)).toEqual([1, 2]);
});

test('concurrent appends to one stream land in order, without gaps, each writer in its own order', async () => {
  const s = stream();
  const WRITERS = 8;
  const APPENDS = 25;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < APPENDS; i++) {
        const events = Array.from({ length: 1 + ((w + i) % 3) }, (_, k) => ({
          type: 'Raced',
          data: { w, i, k },
        }));
        await store.append(s, events, { expected: 'any' });
      }
    }),
  );
  const read = await store.readStream(s);
  const total = Array.from({ length: WRITERS }, (_, w) =>
    Array.from({ length: APPENDS }, (_, i) => 1 + ((w + i) % 3)).reduce((a, b) => a + b, 0),
  ).reduce((a, b) => a + b, 0);
  expect(read.map((e) => e.streamVersion)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  // A later version is a later write: positions and commit order follow the stream's order.
  for (let i = 1; i < read.length; i++) {
    expect(read[i]!.globalPosition).toBeGreaterThan(read[i - 1]!.globalPosition);
    expect(BigInt(read[i]!.transactionId)).toBeGreaterThanOrEqual(BigInt(read[i - 1]!.transactionId));
  }
  for (let w = 0; w < WRITERS; w++) {
    const mine = read.map((e) => e.data as { w: number; i: number; k: number }).filter((d) => d.w === w);
    expect(mine.map((d) => d.i * 10 + d.k)).toEqual(
      [...mine.map((d) => d.i * 10 + d.k)].sort((a, b) => a - b),
    );
    expect(mine).toHaveLength(
      Array.from({ length: APPENDS }, (_, i) => 1 + ((w + i) % 3)).reduce((a, b) => a + b, 0),
    );
  }
}, 60_000);

test('a large batch is stored in order, with its data and metadata', async () => {
  const s = stream();
  const events = Array.from({ length: 5000 }, (_, n) => ({
    type: n % 2 ? 'Odd' : 'Even',
    data: { n, text: `quote " and backslash \\ and {braces}, commas` },
    ...(n % 1000 === 0 ? { metadata: { n } } : {}),
  }));
  const result = await store.append(s, events, { expected: 'no_stream' });
  expect(result.nextExpectedVersion).toBe(5000);
  const read = await store.readStream(s);
  expect(read.map((e) => [e.type, e.data, e.metadata])).toEqual(
    events.map((e) => [e.type, e.data, e.metadata ?? {}]),
  );
  expect(read.map((e) => e.globalPosition)).toEqual(result.positions.map((p) => p.globalPosition));
  expect(new Set(read.map((e) => e.transactionId)).size).toBe(1);
}, 60_000);

test('concurrent re-appends of the same events with an exact expectation: one stores, the rest get it', async () => {
  for (let round = 0; round < 5; round++) {
    const s = stream();
    const events = [
      { id: randomUUID(), type: 'Once', data: { round } },
      { id: randomUUID(), type: 'Once', data: { round } },
    ];
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.append(s, events, { expected: 'no_stream' })),
    );
    expect(results.filter((r) => !r.alreadyStored)).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.positions))).size).toBe(1);
    expect(results.every((r) => r.nextExpectedVersion === 2)).toBe(true);
    expect(await versions(s)).toEqual([1, 2]);
  }
}, 60_000);
