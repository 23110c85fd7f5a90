import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { firstValueFrom, take, toArray } from 'rxjs';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { type Checkpoint, START, type StoredEvent } from '../../../src/infra/eventStore/eventStore';
import { compareCheckpoints } from '../../../src/projections/runtime/checkpoints';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Readers of some event types only: readAll filters in SQL (migration 013) and keeps the commit-order
 * guarantee — never past an open transaction, the checkpoint past events of other types so lag stays
 * right — and readNewer yields a committed event at once, even while an older transaction is open.
 */
let db: TestDatabase;
let store: PostgresEventStore;
let open: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  open = new pg.Client({ connectionString: db.url });
  await open.connect();
});
afterAll(async () => {
  await open.end();
  await db.drop();
});

const ev = (type: string) => ({ type, data: { n: randomUUID() } });

async function drain(after: Checkpoint, types?: string[], limit = 3) {
  const events: StoredEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, limit, ...(types ? { types } : {}) });
    events.push(...page.events);
    if (page.checkpoint === cursor) return { events, checkpoint: cursor };
    expect(compareCheckpoints(page.checkpoint, cursor)).toBeGreaterThan(0);
    cursor = page.checkpoint;
  }
}

test('only the wanted types, in commit order, and the checkpoint ends where an unfiltered reader ends', async () => {
  const s = `tf-${randomUUID()}`;
  await store.append(s, [ev('Wanted'), ev('Other'), ev('Other')]);
  await store.append(`${s}-b`, [ev('Other'), ev('Also'), ev('Other')]);
  await store.append(s, [ev('Other'), ev('Wanted')]);
  for (let i = 0; i < 20; i++) await store.append(`${s}-flood-${i}`, [ev('Other'), ev('Other')]);
  const { filtered, all } = await eventually(async () => {
    const f = await drain(START, ['Wanted', 'Also']);
    const a = await drain(START);
    expect(f.events.map((e) => e.type)).toEqual(['Wanted', 'Also', 'Wanted']);
    return { filtered: f, all: a };
  });
  expect(all.events).toHaveLength(3 + 3 + 2 + 40);
  // The filtered reader has examined everything: its lag is 0, not 40 events.
  expect(filtered.checkpoint).toEqual(all.checkpoint);
  expect(filtered.events).toEqual(all.events.filter((e) => ['Wanted', 'Also'].includes(e.type)));
});

test('a filtered reader never passes an open transaction, then yields both events in commit order', async () => {
  const { checkpoint: start } = await drain(START, ['Late']);
  const s = `tf-open-${randomUUID()}`;
  await open.query('begin');
  await open.query(`select * from es_append($1, 'any', null, $2::jsonb)`, [
    s,
    JSON.stringify([{ id: randomUUID(), type: 'Late', data: {} }]),
  ]);
  // A later transaction, committed first: other types, then a wanted one.
  await store.append(`${s}-b`, [ev('Other'), ev('Late'), ev('Other')]);
  for (let i = 0; i < 3; i++) {
    const read = await drain(start, ['Late']);
    expect(read.events).toHaveLength(0);
    expect(read.checkpoint).toEqual(start); // nothing examined past the open transaction
  }
  // readNewer does not wait for it: the committed event is there at once, the open one is not.
  const newer = await store.readNewer({ types: ['Late'], known: new Map(), horizon: null, limit: 100 });
  expect(newer.events.map((e) => e.streamName)).toEqual([`${s}-b`]);
  expect(newer.complete).toBe(true);

  await open.query('commit');
  const both = await eventually(async () => {
    const read = await drain(start, ['Late']);
    expect(read.events.map((e) => e.streamName)).toEqual([s, `${s}-b`]);
    return read;
  });
  expect((await drain(both.checkpoint, ['Late'])).events).toHaveLength(0);
  const after = await store.readNewer({
    types: ['Late'],
    known: new Map([[`${s}-b`, 2]]),
    horizon: newer.horizon,
    limit: 100,
  });
  expect(after.events.map((e) => [e.streamName, e.streamVersion])).toEqual([[s, 1]]);
});

test('readNewer returns only what the reader does not hold, by stream and version, and pages by limit', async () => {
  const s = `tf-newer-${randomUUID()}`;
  for (let i = 0; i < 5; i++) await store.append(s, [ev('N'), ev('Skip')]);
  const first = await store.readNewer({ types: ['N'], known: new Map([[s, 4]]), horizon: null, limit: 2 });
  expect(first.events.map((e) => e.streamVersion)).toEqual([5, 7]);
  expect(first.complete).toBe(false);
  const rest = await store.readNewer({
    types: ['N'],
    known: new Map([[s, 7]]),
    horizon: first.horizon,
    limit: 2,
  });
  expect(rest.events.map((e) => e.streamVersion)).toEqual([9]);
  expect(rest.complete).toBe(true);
});

test('a filtered subscription reports progress past other types, and waits instead of spinning', async () => {
  const { checkpoint } = await drain(START, ['Progress']);
  const batches = firstValueFrom(
    store
      .subscribe({ after: checkpoint, types: ['Progress'], reportProgress: true, pollIntervalMs: 20 })
      .pipe(take(2), toArray()),
  );
  await store.append(`tf-p-${randomUUID()}`, [ev('Other')]);
  await new Promise((r) => setTimeout(r, 100));
  await store.append(`tf-p-${randomUUID()}`, [ev('Progress')]);
  const [progress, wanted] = await batches;
  expect(progress!.events).toHaveLength(0);
  expect(compareCheckpoints(progress!.checkpoint, checkpoint)).toBeGreaterThan(0);
  expect(wanted!.events.map((e) => e.type)).toEqual(['Progress']);

  // Nothing new: a subscription that is caught up emits nothing (it pauses between polls).
  const quiet: number[] = [];
  const sub = store
    .subscribe({ after: wanted!.checkpoint, types: ['Progress'], reportProgress: true, pollIntervalMs: 20 })
    .subscribe((b) => quiet.push(b.events.length));
  await new Promise((r) => setTimeout(r, 300));
  sub.unsubscribe();
  expect(quiet).toEqual([]);
});
