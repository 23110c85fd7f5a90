import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { WrongExpectedVersionError } from '../../../src/infra/eventStore/eventStore';
import { inTransaction } from '../../../src/infra/postgres/pool';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/** append(stream, events, {tx}): the caller's transaction decides, and the stored events come back. */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
});
afterAll(async () => db.drop());

const stream = () => `tx-${randomUUID()}`;

test('the returned events are the stored ones, and they commit with the caller', async () => {
  const s = stream();
  const { events } = await inTransaction(db.pool, (tx) =>
    store.append(
      s,
      [
        { type: 'A', data: { n: 1, at: new Date('2026-01-01T00:00:00Z') } },
        { type: 'B', data: {} },
      ],
      {
        tx,
      },
    ),
  );
  const read = await store.readStream(s);
  expect(events).toEqual(read);
  expect(events.map((e) => [e.type, e.streamVersion])).toEqual([
    ['A', 1],
    ['B', 2],
  ]);
});

test("a rollback of the caller's transaction leaves no event", async () => {
  const s = stream();
  await expect(
    inTransaction(db.pool, async (tx) => {
      await store.append(s, [{ type: 'A', data: {} }], { tx });
      throw new Error('caller fails after the append');
    }),
  ).rejects.toThrow('caller fails');
  expect(await store.readStream(s)).toEqual([]);
});

test("a wrong expectation fails the append, not the caller's transaction", async () => {
  const s = stream();
  await store.append(s, [{ type: 'A', data: {} }]);
  const after = await inTransaction(db.pool, async (tx) => {
    await expect(store.append(s, [{ type: 'B', data: {} }], { tx, expected: 'no_stream' })).rejects.toThrow(
      WrongExpectedVersionError,
    );
    // The savepoint was rolled back, not the transaction: it goes on.
    return store.append(s, [{ type: 'C', data: {} }], { tx, expected: 1 });
  });
  expect(after.nextExpectedVersion).toBe(2);
  expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'C']);
});
