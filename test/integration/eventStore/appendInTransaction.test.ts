import { randomUUID } from 'node:crypto';
import { EVENTS_CHANNEL, PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { WrongExpectedVersionError } from '../../../src/infra/eventStore/eventStore';
import { inTransaction } from '../../../src/infra/postgres/pool';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';

/** append(stream, events, {tx}): the caller's transaction decides, and the stored events come back. */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
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

test('concurrent transactions appending to one stream with `any` all land, in order, none aborted', async () => {
  const s = stream();
  const writers = 8;
  const results = await Promise.all(
    Array.from({ length: writers }, (_, i) =>
      inTransaction(db.pool, async (tx) => {
        const r = await store.append(s, [{ type: 'W', data: { i } }], { tx, expected: 'any' });
        // The transaction is still usable after any retried race inside the append.
        await tx.query('select 1');
        return r;
      }),
    ),
  );
  const read = await store.readStream(s);
  expect(read.map((e) => e.streamVersion)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
  expect(results.map((r) => r.nextExpectedVersion).sort((a, b) => a - b)).toEqual(
    read.map((e) => e.streamVersion),
  );
});

test('the same event id from two transactions is stored once; the second is told it already was', async () => {
  const s = stream();
  const id = randomUUID();
  const first = await inTransaction(db.pool, (tx) => store.append(s, [{ id, type: 'A', data: {} }], { tx }));
  const second = await inTransaction(db.pool, (tx) => store.append(s, [{ id, type: 'A', data: {} }], { tx }));
  expect([first.alreadyStored, second.alreadyStored]).toEqual([false, true]);
  expect(await store.readStream(s)).toHaveLength(1);
});

test('the wake-up names the appended types and arrives only at commit', async () => {
  const listener = await db.pool.connect();
  const seen: string[] = [];
  try {
    listener.on('notification', (n) => seen.push(n.payload ?? ''));
    await listener.query(`listen ${EVENTS_CHANNEL}`);
    const s = stream();
    await inTransaction(db.pool, async (tx) => {
      await store.append(
        s,
        [
          { type: 'WakeA', data: {} },
          { type: 'WakeB', data: {} },
        ],
        { tx },
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.filter((p) => p.includes('WakeA'))).toEqual([]); // not before the commit
    });
    for (let i = 0; i < 50 && !seen.some((p) => p.includes('WakeA')); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(seen).toContain('WakeA,WakeB');
  } finally {
    await listener.query('unlisten *');
    listener.release();
  }
});
