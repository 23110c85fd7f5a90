import type pg from 'pg';
import { breakerEventTypes, breakerId, breakerStream } from '../../../src/domain/breaker';
import type { StoredEvent } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { seededRandom } from '../../support/seededRandom';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * The V2 gate's feed (readNewer, carrying each answer's horizon into the next read) against real
 * concurrent transactions that commit and roll back in any order, overlap each other and the reads, and
 * mix breaker events with others: every committed breaker event reaches the reader exactly once, in each
 * stream's version order, and nothing rolled back or of another type does. Small pages (limit 7) make the
 * reader page through while transactions are still committing. The writers' random choices come from a
 * seeded generator (the seed is printed), so a failure can be replayed.
 */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

const WRITERS = 6;
const TRANSACTIONS = 25;
const PAGE = 7;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One writer: TRANSACTIONS transactions, one after another, each appending 1–3 breaker events to the
 * writer's own breaker stream (next versions) and a provenance event, held open for a while, then
 * committed (or, one in six, rolled back: its versions are used by the next one). Returns how many breaker
 * events of its stream committed.
 */
async function writer(client: pg.PoolClient, stream: string, next: () => number): Promise<number> {
  let committed = 0;
  for (let t = 0; t < TRANSACTIONS; t++) {
    const count = 1 + Math.floor(next() * 3);
    await client.query('begin');
    await client.query(
      `insert into es_events (event_id, stream_name, stream_version, event_type, data)
       select gen_random_uuid(), $1, v, 'DriftObserved', '{}' from generate_series($2::int, $3::int) v`,
      [stream, committed + 1, committed + count],
    );
    await client.query(
      `insert into es_events (event_id, stream_name, stream_version, event_type, data)
       values (gen_random_uuid(), 'provenance-' || gen_random_uuid(), 1, 'ProvenanceRecorded', '{}')`,
    );
    await sleep(Math.floor(next() * 15));
    if (next() < 1 / 6) {
      await client.query('rollback');
    } else {
      await client.query('commit');
      committed += count;
    }
  }
  return committed;
}

test('concurrent transactions committing and rolling back in any order: the gate feed delivers every committed breaker event once, in order', async () => {
  const seed = Number(process.env.GATE_FEED_SEED ?? Date.now() % 1_000_000);
  console.log(`[gate feed concurrency] seed ${seed} (GATE_FEED_SEED replays it)`);
  const next = seededRandom(seed);
  const store = new PostgresEventStore(db.pool);
  const streams = Array.from({ length: WRITERS }, (_, w) => breakerStream(breakerId('costsim_v2', `t-${w}`)));

  let known = new Map<string, number>();
  let horizon: string | null = null;
  const received: StoredEvent[] = [];
  let pages = 0;
  /** Complete reads whose snapshot had transactions in progress (the horizon's third part). */
  let readsWithOpenTransactions = 0;
  /** Reads until a page comes back complete, as the gate's readOnce does. */
  const readOnce = async () => {
    for (;;) {
      const page = await store.readNewer({ types: breakerEventTypes, known, horizon, limit: PAGE });
      pages++;
      received.push(...page.events);
      for (const e of page.events) known = new Map([...known, [e.streamName, e.streamVersion]]);
      if (page.complete) {
        horizon = page.horizon;
        if ((page.horizon.split(':')[2] ?? '') !== '') readsWithOpenTransactions++;
        return;
      }
    }
  };

  const clients = await Promise.all(streams.map(() => db.pool.connect()));
  let writing = true;
  try {
    const writers = Promise.all(
      clients.map((client, w) => writer(client, streams[w]!, seededRandom(seed + w + 1))),
    ).finally(() => (writing = false));
    while (writing) {
      await readOnce();
      await sleep(Math.floor(next() * 5));
    }
    const committed = await writers;
    await readOnce(); // after the last commit

    for (const [w, stream] of streams.entries()) {
      const versions = received.filter((e) => e.streamName === stream).map((e) => e.streamVersion);
      expect({ stream, versions }).toEqual({
        stream,
        versions: Array.from({ length: committed[w]! }, (_, i) => i + 1),
      });
    }
    expect(received.every((e) => e.type === 'DriftObserved')).toBe(true);
    // Each version once: the per-stream lists above are exact, so the total is their sum.
    expect(received).toHaveLength(committed.reduce((a, b) => a + b, 0));
    // So the test means something: reads ran while transactions were open, and paged.
    expect(readsWithOpenTransactions).toBeGreaterThan(10);
    expect(pages).toBeGreaterThan(TRANSACTIONS);
    expect(committed.every((c) => c > 0)).toBe(true);
  } finally {
    for (const client of clients) {
      await client.query('rollback').catch(() => {});
      client.release();
    }
  }
});
