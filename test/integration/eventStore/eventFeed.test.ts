import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { EventFeed } from '../../../src/infra/eventStore/eventFeed';
import { type Checkpoint, START, type StoredEvent } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { eventually } from '../../support/eventually';
import { type TestDatabase, createTestDatabase } from '../../support/testDatabase';

/**
 * The shared feed behind the SSE stream: a reader that joins at any checkpoint — while writers append,
 * some inside transactions that commit after later positions — receives exactly the events of its types
 * after that checkpoint, each once, in commit order (what readAll returns), then the live ones.
 */
jest.setTimeout(60_000);

let db: TestDatabase;
let store: PostgresEventStore;
let feed: EventFeed;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  feed = new EventFeed(store, { types: ['Wanted'], pollIntervalMs: 10, pageSize: 7 });
});
afterAll(async () => {
  feed.stop();
  await db.drop();
});

async function expectedAfter(after: Checkpoint): Promise<number[]> {
  const positions: number[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, limit: 1000, types: ['Wanted'] });
    positions.push(...page.events.map((e) => e.globalPosition));
    if (page.checkpoint === cursor) return positions;
    cursor = page.checkpoint;
  }
}

test('readers joining at any point get exactly the events after their checkpoint, once, in commit order', async () => {
  await store.append('s-0', [{ type: 'Wanted', data: {} }]);
  await feed.start();
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; i < 40; i++) {
      const events = [
        { type: i % 3 === 0 ? 'Other' : 'Wanted', data: { w, i } },
        ...(i % 5 === 0 ? [{ type: 'Wanted', data: { w, i, second: true } }] : []),
      ];
      await store.append(`s-${w}-${i % 4}`, events);
    }
  });
  // A transaction that takes a position early and commits late (the ordering problem).
  const late = (async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('begin');
    await client.query(`select * from es_append('late', 'any', null, $1::jsonb)`, [
      JSON.stringify([{ id: randomUUID(), type: 'Wanted', data: { late: true } }]),
    ]);
    await new Promise((r) => setTimeout(r, 300));
    await client.query('commit');
    await client.end();
  })();

  const readers: Array<{ after: Checkpoint; got: StoredEvent[]; stop: () => void }> = [];
  const join = (after: Checkpoint) => {
    const got: StoredEvent[] = [];
    const sub = feed.from(after).subscribe((e) => got.push(e));
    readers.push({ after, got, stop: () => sub.unsubscribe() });
  };
  join(START);
  for (let k = 0; k < 12; k++) {
    await new Promise((r) => setTimeout(r, 25));
    const { rows } = await db.pool.query<{ p: string }>(
      'select global_position as p from es_events order by random() limit 1',
    );
    const at = await store.checkpointOf(Number(rows[0]!.p));
    join(at!);
    join(feed.position!); // as a new client without Last-Event-ID does
  }
  await Promise.all([...writers, late]);
  await store.append('s-end', [{ type: 'Wanted', data: { last: true } }]);

  for (const r of readers) {
    // Both sides wait for the cluster's horizon (any older transaction, even another test file's): the
    // expectation is read again until the two agree.
    await eventually(async () =>
      expect(r.got.map((e) => e.globalPosition)).toEqual(await expectedAfter(r.after)),
    );
    r.stop();
  }
  expect(readers[0]!.got.every((e) => e.type === 'Wanted')).toBe(true);
  expect(readers[0]!.got.some((e) => e.data.late === true)).toBe(true);
});
