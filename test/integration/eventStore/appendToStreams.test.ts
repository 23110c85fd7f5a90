import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { inTransaction } from '../../../src/infra/postgres/pool';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';

/**
 * appendToStreams (es_append_streams_in_tx, migration 065): many streams in the caller's transaction in
 * one call; what is stored already, or a stream a concurrent append took, goes stream by stream instead.
 */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

const stream = () => `many-${randomUUID()}`;

test('events of many streams are stored in the given order, each stream from its current version, in one transaction', async () => {
  const [a, b] = [stream(), stream()];
  await store.append(a, [{ type: 'Old', data: {} }]);
  const stored = await inTransaction(db.pool, (tx) =>
    store.appendToStreams(
      [
        {
          stream: a,
          events: [
            { type: 'A1', data: { n: 1 } },
            { type: 'A2', data: { n: 2 } },
          ],
        },
        { stream: b, events: [{ type: 'B1', data: { at: new Date('2026-01-01T00:00:00Z') } }] },
      ],
      { tx },
    ),
  );
  expect(stored.map((e) => [e.streamName, e.type, e.streamVersion])).toEqual([
    [a, 'A1', 2],
    [a, 'A2', 3],
    [b, 'B1', 1],
  ]);
  expect(new Set(stored.map((e) => e.transactionId)).size).toBe(1);
  expect(stored).toEqual([...(await store.readStream(a)).slice(1), ...(await store.readStream(b))]);
});

test('nothing is stored when the caller rolls back', async () => {
  const s = stream();
  await expect(
    inTransaction(db.pool, async (tx) => {
      await store.appendToStreams([{ stream: s, events: [{ type: 'X', data: {} }] }], { tx });
      throw new Error('caller gives up');
    }),
  ).rejects.toThrow('caller gives up');
  expect(await store.readStream(s)).toEqual([]);
});

test('an event already stored is stored once (idempotent), the others of the call are appended', async () => {
  const [a, b] = [stream(), stream()];
  const id = randomUUID();
  await store.append(a, [{ id, type: 'Once', data: {} }]);
  const stored = await inTransaction(db.pool, (tx) =>
    store.appendToStreams(
      [
        { stream: a, events: [{ id, type: 'Once', data: {} }] },
        { stream: b, events: [{ type: 'New', data: {} }] },
      ],
      { tx },
    ),
  );
  expect(stored.map((e) => [e.streamName, e.streamVersion])).toEqual([
    [a, 1],
    [b, 1],
  ]);
  expect(await store.readStream(a)).toHaveLength(1);
  expect(await store.readStream(b)).toHaveLength(1);
});

test('concurrent calls appending to the same streams all land, versions without gaps', async () => {
  const [a, b] = [stream(), stream()];
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      inTransaction(db.pool, (tx) =>
        store.appendToStreams(
          [
            { stream: a, events: [{ type: 'A', data: { i } }] },
            { stream: b, events: [{ type: 'B', data: { i } }] },
          ],
          { tx },
        ),
      ),
    ),
  );
  for (const s of [a, b]) {
    expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }
});
