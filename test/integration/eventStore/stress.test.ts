import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { START, type StoredEvent, WrongExpectedVersionError } from '../../../src/infra/eventStore/eventStore';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';

/**
 * 8 concurrent writers on overlapping streams (some with optimistic expectations, some rolling back) and 2
 * readers following $all: every committed event is seen exactly once by each reader, per-stream order is
 * preserved, and stream versions have no gaps.
 */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

const WRITERS = 8;
const APPENDS_PER_WRITER = 120;
const streams = Array.from({ length: 6 }, (_, i) => `stress-${i}`);

async function writer(w: number, committed: Set<string>): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    for (let i = 0; i < APPENDS_PER_WRITER; i++) {
      const stream = streams[(w * 7 + i * 13) % streams.length]!;
      const events = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
        id: randomUUID(),
        type: 'Stressed',
        data: { w, i, k },
      }));
      if (i % 10 === 9) {
        // A transaction that appends and rolls back: it takes positions and leaves holes.
        await client.query('begin');
        // A lost version race just aborts this transaction early; it rolls back either way.
        await client
          .query(`select * from es_append($1, 'any', null, $2::jsonb)`, [stream, JSON.stringify(events)])
          .then(() => new Promise((r) => setTimeout(r, 2)))
          .catch(() => undefined);
        await client.query('rollback');
        continue;
      }
      if (i % 4 === 0) {
        // Optimistic: load the version, append with it, retry on conflict.
        for (;;) {
          const version = await store.streamVersion(stream);
          try {
            await store.append(stream, events, { expected: version });
            break;
          } catch (err) {
            if (!(err instanceof WrongExpectedVersionError)) throw err;
          }
        }
      } else {
        await store.append(stream, events, { expected: 'any' });
      }
      events.forEach((e) => committed.add(e.id));
    }
  } finally {
    await client.end();
  }
}

test('every committed event is delivered exactly once to each reader, in stream order, with no gaps', async () => {
  const committed = new Set<string>();
  const seen: StoredEvent[][] = [[], []];
  let writersDone = false;
  const readersDone = seen.map(
    (bucket) =>
      new Promise<void>((resolve, reject) => {
        const sub = store.subscribe({ after: START, limit: 37, pollIntervalMs: 5 }).subscribe({
          next: (batch) => {
            bucket.push(...batch.events);
            if (writersDone && bucket.length >= committed.size) {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
        const timer = setInterval(() => {
          if (writersDone && bucket.length >= committed.size) {
            clearInterval(timer);
            sub.unsubscribe();
            resolve();
          }
        }, 20);
      }),
  );

  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w, committed)));
  writersDone = true;
  await Promise.all(readersDone);

  expect(committed.size).toBeGreaterThan(WRITERS * APPENDS_PER_WRITER);
  for (const bucket of seen) {
    const ids = bucket.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length); // exactly once
    expect(new Set(ids)).toEqual(committed); // nothing missing, nothing rolled back
    for (const stream of streams) {
      const versions = bucket.filter((e) => e.streamName === stream).map((e) => e.streamVersion);
      expect(versions).toEqual(versions.map((_, i) => i + 1)); // in order, contiguous from 1
    }
  }
  for (const stream of streams) {
    const stored = await store.readStream(stream);
    expect(stored.map((e) => e.streamVersion)).toEqual(stored.map((_, i) => i + 1));
    expect(await store.streamVersion(stream)).toBe(stored.length);
  }
}, 120_000);
