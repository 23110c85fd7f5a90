import { randomUUID } from 'node:crypto';
import type { ProvenanceRecord } from '../../../src/domain/provenance/provenanceRecorded';
import { type Checkpoint, START } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { provenanceProjection } from '../../../src/projections/provenance/provenanceProjection';
import {
  LeadershipLostError,
  StaleCheckpointError,
  ensureCheckpoints,
} from '../../../src/projections/runtime/checkpoints';
import { listDeadLetters } from '../../../src/projections/runtime/deadLetters';
import { projectionStatuses } from '../../../src/projections/runtime/lag';
import { applyBatch } from '../../../src/projections/runtime/projectionApplier';
import { Projector } from '../../../src/projections/runtime/projector';
import { applyPositions } from '../../../src/projections/runtime/rangeApplier';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { eventually } from '../../support/eventually';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';
import { seededRandom } from '../../support/seededRandom';

/**
 * Provenance applied in SQL from the event rows (rangeStatement) against the same events applied through
 * `apply` (payloads through JavaScript): the same rows, whatever the records (nulls, unicode, large
 * TOASTed payloads), the batch cuts, the events of other types in between, and a retention event in the
 * middle of a range; a record that cannot be stored is isolated and parked as before; a rebuild gives the
 * same table.
 */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

/** Deterministic: a failure reproduces. */
const random = seededRandom;

const TEXTS = [
  'plain',
  'ünïcødé',
  '日本語のテキスト',
  'emoji 🚀👩‍💻',
  'quote " and \\ back',
  'line\u2028sep',
  '',
];
const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00Z');

function record(rnd: () => number, i: number): ProvenanceRecord {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const maybe = <T>(v: T): T | null => (rnd() < 0.3 ? null : v);
  const v1 = maybe(Math.round(rnd() * 1e6) / 1e3);
  const v2 = maybe(rnd() * 100);
  const big = rnd() < 0.05;
  return {
    id: randomUUID(),
    run_id: maybe(`${pick(TEXTS)}-${i}`),
    tenant_id: maybe(pick(['t-a', 't-b', 'ténant'])),
    variant_slug: pick(['v1', 'v2', 'canary'] as const),
    source: pick(['sandbox', 'canary', 'manual', 'backfill'] as const),
    model_version: maybe(pick(TEXTS)),
    adapter_version: maybe('2.0.0'),
    commit_sha: maybe('abc123'),
    input_hash: `${i}`.padStart(64, 'f'),
    output_hash: maybe(pick(TEXTS)),
    v1_cost: v1,
    v2_cost: v2,
    cost_delta: v1 !== null && v2 !== null ? v2 - v1 : null,
    drift_score: maybe(rnd()),
    verdict: maybe(pick(['match', 'minor_drift', 'major_drift'])),
    payload: big
      ? { blob: pick(TEXTS).repeat(20_000) + randomUUID(), n: i }
      : { text: pick(TEXTS), nested: { list: [1, 2.5, null, true, 'x'], deep: { i } }, tiny: 1e-7 },
    runtime_ms: maybe(rnd() * 10),
    // From 40 days ago to now: a retention cut-off in the middle removes some, not all.
    created_at: new Date(NOW - Math.floor(rnd() * 40) * DAY - Math.floor(rnd() * DAY)).toISOString(),
  };
}

const rowsOf = async (schema: string) =>
  (await db.pool.query(`select * from ${schema}.provenance order by id`)).rows;

test('the same rows by range as by events: random records, batch cuts, other types between, retention in the middle', async () => {
  const rnd = random(13);
  let i = 0;
  // Appends of 1..60 records; now and then events of another type in the same append or their own, and
  // two retention events (the second older than the first, so it removes nothing more).
  for (let append = 0; append < 40; append++) {
    const events = Array.from({ length: 1 + Math.floor(rnd() * 60) }, () => {
      if (rnd() < 0.1) return { type: 'SomethingElse', data: { i: i++ } };
      const r = record(rnd, i++);
      return { id: r.id, type: 'ProvenanceRecorded', data: r };
    });
    await store.append(`provenance-${randomUUID()}`, events, { expected: 'no_stream' });
    if (append === 20 || append === 30) {
      const before = new Date(NOW - (append === 20 ? 20 : 30) * DAY).toISOString();
      await store.append('provenance_retention', [
        { type: 'ProvenanceRetentionApplied', data: { before, retention_days: 20, at: before } },
      ]);
    }
    if (rnd() < 0.3) await store.append(`other-${append}`, [{ type: 'SomethingElse', data: {} }]);
  }
  for (const schema of ['by_events', 'by_range']) {
    await db.pool.query(
      `create schema ${schema}; create table ${schema}.provenance (like public.provenance including all)`,
    );
  }
  await ensureCheckpoints(db.pool, [
    { name: 'by_events', handles: provenanceProjection.handles },
    { name: 'by_range', handles: provenanceProjection.handles },
  ]);
  const target = (name: string) => ({
    projection: provenanceProjection,
    checkpointName: name,
    searchPath: `${name}, public`,
  });

  // The same reads both ways (random batch sizes and byte limits), applied each its way.
  let cursor: Checkpoint = START;
  let batches = 0;
  for (;;) {
    const options = {
      after: cursor,
      limit: 1 + Math.floor(rnd() * 120),
      types: provenanceProjection.handles,
      maxBytes: rnd() < 0.5 ? 4096 + Math.floor(rnd() * 200_000) : 8 * 1024 * 1024,
    };
    const [events, positions] = await Promise.all([store.readAll(options), store.readPositions(options)]);
    expect(positions.checkpoint).toEqual(events.checkpoint);
    expect(positions.events.map((e) => e.eventId)).toEqual(events.events.map((e) => e.eventId));
    if (events.events.length === 0) break;
    await applyBatch(db.pool, target('by_events'), cursor, events.events, events.checkpoint);
    await applyPositions(
      db.pool,
      target('by_range'),
      cursor,
      positions.events,
      positions.checkpoint,
      (range) => store.readRange(range),
    );
    cursor = events.checkpoint;
    batches++;
  }
  expect(batches).toBeGreaterThan(10);

  const byEvents = await rowsOf('by_events');
  const byRange = await rowsOf('by_range');
  const { rows: stored } = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from es_events where event_type = 'ProvenanceRecorded'`,
  );
  // Retention removed some records (those older than its cut-off when it was applied), not all.
  expect(byEvents.length).toBeGreaterThan(100);
  expect(byEvents.length).toBeLessThan(stored[0]!.n);
  // Records written after the first retention event and older than its cut-off are still there: it was
  // applied at its place in the order, not after the records that follow it.
  const cutoff = NOW - 20 * DAY;
  expect(byRange.some((r) => (r.created_at as Date).getTime() < cutoff)).toBe(true);
  expect(byRange.some((r) => JSON.stringify(r.payload).length > 100_000)).toBe(true);
  expect(byRange).toEqual(byEvents);
});

test('a record that cannot be stored is isolated and parked; the rest of its range is applied once', async () => {
  const good = Array.from({ length: 30 }, (_, k) => record(random(k + 100), 10_000 + k));
  // As an older version of the service could have stored it: a date PostgreSQL cannot hold.
  const poison = { ...record(random(7), 20_000), created_at: '0000-01-01T00:00:00Z' };
  const all = [...good.slice(0, 11), poison, ...good.slice(11)];
  await db.pool.query('truncate provenance');
  const projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [provenanceProjection],
    lockId: 7010,
    pollMs: 20,
    retry: { attempts: 1, backoffMs: 20, maxBackoffMs: 100 },
  });
  projector.start();
  try {
    const stream = `provenance-${randomUUID()}`;
    await store.append(
      stream,
      all.map((r) => ({ id: r.id, type: 'ProvenanceRecorded', data: r })),
      { expected: 'no_stream' },
    );
    await eventually(async () => {
      const s = (await projectionStatuses(db.pool)).find((p) => p.name === 'provenance')!;
      expect(s.lagEvents).toBe(0);
      expect(s.failure).toBeNull();
      expect(s.deadLetters).toBe(1);
    });
    const [letter] = await listDeadLetters(db.pool, { projection: 'provenance' });
    expect(letter).toMatchObject({
      eventId: poison.id,
      streamName: stream,
      streamVersion: 12,
      status: 'parked',
    });
    const { rows } = await db.pool.query<{ id: string }>(
      'select id from provenance where id = any($1::uuid[]) order by id',
      [all.map((r) => r.id)],
    );
    expect(rows.map((r) => r.id)).toEqual(good.map((r) => r.id).sort());

    // A rebuild replays everything (the records of the first test too) into copies: the same table.
    const live = (await db.pool.query('select * from provenance order by id')).rows;
    expect(live.length).toBeGreaterThan(good.length);
    await rebuildProjection(db.pool, store, provenanceProjection);
    expect((await db.pool.query('select * from provenance order by id')).rows).toEqual(live);
  } finally {
    await projector.stop();
  }
});

test('a batch of records is one statement with its checkpoint: a stale checkpoint or a lost lock writes nothing', async () => {
  const records = Array.from({ length: 5 }, (_, k) => record(random(k + 500), 30_000 + k));
  await store.append(
    `provenance-${randomUUID()}`,
    records.map((r) => ({ id: r.id, type: 'ProvenanceRecorded', data: r })),
    { expected: 'no_stream' },
  );
  await db.pool.query(
    `create schema by_one; create table by_one.provenance (like public.provenance including all)`,
  );
  await ensureCheckpoints(db.pool, [{ name: 'by_one', handles: provenanceProjection.handles }]);
  const { rows: cp } = await db.pool.query<{ tx: string; pos: string }>(
    `select transaction_id::text as tx, global_position as pos from es_events
      where event_type = 'ProvenanceRecorded' order by transaction_id desc, global_position desc offset 5 limit 1`,
  );
  const before: Checkpoint = { transactionId: cp[0]!.tx, globalPosition: Number(cp[0]!.pos) };
  // The checkpoint is at START, the batch expects it past it: the CAS fails, the rows go with it.
  const page = await store.readPositions({ after: before, limit: 100, types: provenanceProjection.handles });
  expect(page.events.map((e) => e.eventId)).toEqual(records.map((r) => r.id));
  // One statement outside a transaction: the live table (no search_path), so the checkpoint is by_one's.
  const target = { projection: provenanceProjection, checkpointName: 'by_one' };
  const load = (range: Parameters<typeof store.readRange>[0]) => store.readRange(range);
  const count = async () =>
    (
      await db.pool.query<{ n: number }>(
        'select count(*)::int as n from provenance where id = any($1::uuid[])',
        [records.map((r) => r.id)],
      )
    ).rows[0]!.n;
  await db.pool.query('delete from provenance where id = any($1::uuid[])', [records.map((r) => r.id)]);
  await expect(applyPositions(db.pool, target, before, page.events, page.checkpoint, load)).rejects.toThrow(
    StaleCheckpointError,
  );
  expect(await count()).toBe(0);
  // At the right checkpoint but fenced on a lock nobody holds: nothing moves, nothing is written.
  await db.pool.query(
    `update projection_checkpoints set transaction_id = $2::xid8, global_position = $3 where name = $1`,
    ['by_one', before.transactionId, before.globalPosition],
  );
  const fence = { pid: 1, lockId: 7010 };
  await expect(
    applyPositions(db.pool, target, before, page.events, page.checkpoint, load, { fence }),
  ).rejects.toThrow(LeadershipLostError);
  expect(await count()).toBe(0);
  // Unfenced at the right checkpoint: the five rows and the checkpoint move together.
  await applyPositions(db.pool, target, before, page.events, page.checkpoint, load);
  expect(await count()).toBe(5);
  const { rows: moved } = await db.pool.query<{ at: boolean }>(
    `select (transaction_id, global_position) = ($2::xid8, $3::bigint) as at from projection_checkpoints where name = $1`,
    ['by_one', page.checkpoint.transactionId, page.checkpoint.globalPosition],
  );
  expect(moved[0]!.at).toBe(true);
});
