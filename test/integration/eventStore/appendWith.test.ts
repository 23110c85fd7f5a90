import { randomUUID } from 'node:crypto';
import { WrongExpectedVersionError } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';

/**
 * appendWith (es_append_with, migration 085): a stream's events at an exact expected version and companion
 * events in new streams, one statement: everything stored in one transaction, or nothing.
 */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

const stream = (kind: string) => `${kind}-${randomUUID()}`;

async function rowsOf(streams: readonly string[]) {
  const { rows } = await db.pool.query<{
    stream_name: string;
    stream_version: string;
    event_type: string;
    data: unknown;
    metadata: unknown;
    tx: string;
  }>(
    `select stream_name, stream_version, event_type, data, metadata, transaction_id::text as tx
       from es_events where stream_name = any($1) order by global_position`,
    [streams],
  );
  return rows;
}

test('the stream from its expected version and each companion stream from 1, in one transaction', async () => {
  const main = stream('with-main');
  const [c1, c2] = [stream('with-c'), stream('with-c')];
  await store.append(main, [{ type: 'Old', data: {} }]);
  const id = randomUUID();
  await store.appendWith(
    main,
    [
      { type: 'M1', data: { n: 1 } },
      { type: 'M2', data: { n: 2 }, metadata: { actor: 'x' } },
    ],
    1,
    [
      { stream: c1, events: [{ id, type: 'C', data: { text: 'é "quoted" \\ ✓ 😀' } }] },
      {
        stream: c2,
        events: [
          { type: 'C', data: { n: 1 } },
          { type: 'C', data: { n: 2 } },
        ],
      },
    ],
  );
  const rows = await rowsOf([main, c1, c2]);
  expect(rows.map((r) => [r.stream_name, Number(r.stream_version), r.event_type])).toEqual([
    [main, 1, 'Old'],
    [main, 2, 'M1'],
    [main, 3, 'M2'],
    [c1, 1, 'C'],
    [c2, 1, 'C'],
    [c2, 2, 'C'],
  ]);
  expect(new Set(rows.slice(1).map((r) => r.tx)).size).toBe(1);
  expect(rows[2]!.metadata).toEqual({ actor: 'x' });
  expect(rows[1]!.metadata).toEqual({});
  expect(rows[3]!.data).toEqual({ text: 'é "quoted" \\ ✓ 😀' });
  const { rows: byId } = await db.pool.query('select stream_name from es_events where event_id = $1', [id]);
  expect(byId).toEqual([{ stream_name: c1 }]);
});

test('a wrong expected version stores nothing, also when the stream gets no events of its own', async () => {
  const main = stream('with-main');
  const companion = stream('with-c');
  await store.append(main, [{ type: 'Old', data: {} }]);
  for (const events of [[{ type: 'M', data: {} }], []]) {
    const err = await store
      .appendWith(main, events, 0, [{ stream: companion, events: [{ type: 'C', data: {} }] }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as WrongExpectedVersionError).actual).toBe(1);
  }
  expect((await rowsOf([main, companion])).map((r) => r.event_type)).toEqual(['Old']);
  // At the right version, a companion alone is stored and the stream is unchanged.
  await store.appendWith(main, [], 1, [{ stream: companion, events: [{ type: 'C', data: {} }] }]);
  expect((await rowsOf([main, companion])).map((r) => r.event_type)).toEqual(['Old', 'C']);
});

test('one companion the database refuses fails the whole statement: nothing is stored', async () => {
  const main = stream('with-main');
  const [good, bad] = [stream('with-c'), stream('with-c')];
  const err = await store
    .appendWith(main, [{ type: 'M', data: {} }], 0, [
      { stream: good, events: [{ type: 'C', data: { ok: true } }] },
      { stream: bad, events: [{ type: 'C', data: { text: 'nul\u0000' } }] },
    ])
    .catch((e: unknown) => e);
  expect(err).toHaveProperty('code'); // PostgreSQL's own error, for the caller to split on
  expect(err).not.toBeInstanceOf(WrongExpectedVersionError);
  expect(await rowsOf([main, good, bad])).toEqual([]);
});

test('a companion stream that already exists is refused (not a version conflict), not appended to', async () => {
  const main = stream('with-main');
  const taken = stream('with-c');
  await store.append(taken, [{ type: 'C', data: {} }]);
  const err = await store
    .appendWith(main, [{ type: 'M', data: {} }], 0, [{ stream: taken, events: [{ type: 'C', data: {} }] }])
    .catch((e: unknown) => e);
  expect(err).not.toBeInstanceOf(WrongExpectedVersionError);
  expect(err).toMatchObject({ code: '23505', constraint: 'es_events_stream_version_key' });
  expect((await rowsOf([main, taken])).map((r) => r.stream_name)).toEqual([taken]);
});
