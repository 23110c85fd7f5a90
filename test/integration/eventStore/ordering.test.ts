import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { type Checkpoint, START, type StoredEvent } from '../../../src/infra/eventStore/eventStore';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';
import { eventually } from '../../support/eventually';

/**
 * The ordering problem (docs/architecture.md): a transaction that took a lower global position can commit after
 * one that took a higher position. A reader must never move past the open transaction's position, and must
 * deliver both events exactly once after it commits — or only the other one if it rolls back.
 */
let db: TestDatabase;
let store: PostgresEventStore;
let txA: pg.Client;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());
beforeEach(async () => {
  txA = new pg.Client({ connectionString: db.url });
  await txA.connect();
});
afterEach(async () => txA.end());

/** Appends inside an explicit transaction that the test keeps open. */
async function appendInOpenTransaction(stream: string): Promise<number> {
  await txA.query('begin');
  const { rows } = await txA.query<{ global_position: string }>(
    `select * from es_append($1, 'any', null, $2::jsonb)`,
    [stream, JSON.stringify([{ id: randomUUID(), type: 'A', data: {} }])],
  );
  return Number(rows[0]!.global_position);
}

async function drain(after: Checkpoint): Promise<{ events: StoredEvent[]; checkpoint: Checkpoint }> {
  const events: StoredEvent[] = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll({ after: cursor, limit: 100 });
    events.push(...page.events);
    if (page.checkpoint === cursor) return { events, checkpoint: cursor };
    cursor = page.checkpoint;
  }
}

async function headCheckpoint(): Promise<Checkpoint> {
  return (await drain(START)).checkpoint;
}

test('a reader does not pass an open transaction, then yields both events exactly once after commit', async () => {
  const start = await headCheckpoint();
  const stream = `order-${randomUUID()}`;
  const positionA = await appendInOpenTransaction(stream);
  const b = await store.append(`order-${randomUUID()}`, [{ type: 'B', data: {} }]);
  expect(b.positions[0]!.globalPosition).toBeGreaterThan(positionA);

  // Polling while A is open: B is committed and visible, but the reader must not move past A.
  for (let i = 0; i < 5; i++) {
    const { events, checkpoint } = await drain(start);
    expect(events.map((e) => e.type)).not.toContain('B');
    expect(checkpoint).toEqual(start);
  }

  await txA.query('commit');
  const { events, checkpoint } = await eventually(async () => {
    const drained = await drain(start);
    expect(drained.events.map((e) => e.type).sort()).toEqual(['A', 'B']);
    return drained;
  });
  const types = events.map((e) => e.type);
  // A's transaction began first, so in commit-safe order A comes before B.
  expect(types).toEqual(['A', 'B']);
  expect((await drain(checkpoint)).events).toHaveLength(0);
});

test('when the open transaction rolls back, the later event is delivered and nothing waits forever', async () => {
  const start = await headCheckpoint();
  await appendInOpenTransaction(`order-${randomUUID()}`);
  const bStream = `order-${randomUUID()}`;
  await store.append(bStream, [{ type: 'B2', data: {} }]);
  expect((await drain(start)).events).toHaveLength(0);

  await txA.query('rollback');
  const events = await eventually(async () => {
    const { events: drained } = await drain(start);
    expect(drained.map((e) => e.type)).toEqual(['B2']);
    return drained;
  });
  expect(events[0]!.streamName).toBe(bStream);
});
