import type pg from 'pg';
import { ProvenanceRetention } from '../../../src/commands/provenance/provenanceRetention';
import {
  type NewProvenanceRecord,
  ProvenanceWriter,
} from '../../../src/commands/provenance/provenanceWriter';
import { START, type StoredEvent } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { inTransaction } from '../../../src/infra/postgres/pool';
import { driftRollupProjection } from '../../../src/projections/provenance/driftRollupProjection';
import { driftStatsFromRollup } from '../../../src/projections/provenance/driftStatsRollup';
import { SKETCH_RELATIVE_ACCURACY } from '../../../src/projections/provenance/driftSketch';
import { provenanceProjection } from '../../../src/projections/provenance/provenanceProjection';
import {
  type DriftStats,
  type ProvenanceFilter,
  ProvenanceQueries,
} from '../../../src/projections/provenance/provenanceQueries';
import { Projector } from '../../../src/projections/runtime/projector';
import { positionOf } from '../../../src/projections/runtime/checkpoints';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

const DAY = 86_400_000;
const HOUR = 3_600_000;
let db: TestDatabase;
let store: PostgresEventStore;
let writer: ProvenanceWriter;
let queries: ProvenanceQueries;
let projector: Projector | null = null;

const startProjector = (projections = [provenanceProjection, driftRollupProjection]) => {
  projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections,
    lockId: 7010,
    pollMs: 20,
  });
  projector.start();
};
const stopProjector = async () => {
  await projector?.stop();
  projector = null;
};

// Midnight UTC ten days ago: the data spans days -10 … -3, so none of it is "recent".
const day0 = Math.floor(Date.now() / DAY) * DAY - 10 * DAY;
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const VARIANTS = ['v1', 'v2', 'canary'] as const;
const TENANTS = ['tenant-a', 'tenant-b', null] as const;

const record = (at: number, i: number): NewProvenanceRecord => {
  const v1 = Math.round(random() * 10_000) / 100;
  // Deltas of both signs, zeros, and a few records without V2 (no delta: not counted).
  const v2 = i % 17 === 0 ? null : i % 13 === 0 ? v1 : Math.round((v1 + (random() - 0.45) * 40) * 100) / 100;
  return {
    run_id: `run-${i}`,
    tenant_id: TENANTS[i % 3]!,
    variant_slug: VARIANTS[(i >> 2) % 3]!,
    source: 'sandbox',
    model_version: null,
    adapter_version: null,
    commit_sha: null,
    input_hash: i.toString(16).padStart(64, '0'),
    output_hash: null,
    v1_cost: v1,
    v2_cost: v2 === null ? null : Math.max(0, v2),
    drift_score: null,
    verdict: null,
    payload: {},
    runtime_ms: null,
    created_at: new Date(at).toISOString(),
  };
};

/** `count` records spread over [start, start + spanMs), written in batches of 250. */
async function writeRecords(start: number, spanMs: number, count: number, offset = 0): Promise<void> {
  const all = Array.from({ length: count }, (_, i) =>
    record(start + Math.floor((i / count) * spanMs) + (i % 1000), offset + i),
  );
  for (let i = 0; i < all.length; i += 250) await writer.write(all.slice(i, i + 250));
}

async function caughtUp(): Promise<void> {
  await eventually(async () => {
    const { rows } = await db.pool.query<{ provenance: string; rollup: string; head: string }>(
      `select (select global_position from projection_checkpoints where name = 'provenance')::text as provenance,
              (select global_position from projection_checkpoints where name = 'drift_rollup')::text as rollup,
              (select max(global_position) from es_events)::text as head`,
    );
    expect(rows[0]).toEqual({ provenance: rows[0]!.head, rollup: rows[0]!.head, head: rows[0]!.head });
  }, 30_000);
}

/** The route's bounds for start_date/end_date given as days. */
const days = (first: number, last: number): ProvenanceFilter => ({
  from: new Date(day0 + first * DAY),
  to: new Date(day0 + last * DAY + DAY - 1),
});

async function deltas(filter: ProvenanceFilter, extra = 'true'): Promise<number[]> {
  const { rows } = await db.pool.query<{ d: number }>(
    `select cost_delta as d from provenance
      where cost_delta is not null and created_at >= $1 and created_at <= $2 and ${extra}
        ${filter.tenant !== undefined ? 'and tenant_id = $3' : ''}
      order by cost_delta`,
    [
      filter.from ?? '-infinity',
      filter.to ?? 'infinity',
      ...(filter.tenant !== undefined ? [filter.tenant] : []),
    ],
  );
  return rows.map((r) => r.d);
}

/** Exact on count, avg, min, max; stddev to 12 digits; percentiles within the sketch's guarantee. */
function expectClose(got: DriftStats, exact: DriftStats, sorted: number[]): void {
  expect([got.total, got.avg_delta, got.min_delta, got.max_delta]).toEqual([
    exact.total,
    exact.avg_delta,
    exact.min_delta,
    exact.max_delta,
  ]);
  expect(got.stddev_delta! / exact.stddev_delta!).toBeCloseTo(1, 12);
  for (const [q, p] of [
    [0.5, got.p50_delta],
    [0.9, got.p90_delta],
    [0.99, got.p99_delta],
  ] as const) {
    const rank = q * (sorted.length - 1);
    const lo = sorted[Math.floor(rank)]!;
    const hi = sorted[Math.ceil(rank)]!;
    expect(p).toBeGreaterThanOrEqual(lo - SKETCH_RELATIVE_ACCURACY * Math.abs(lo) - 1e-9);
    expect(p).toBeLessThanOrEqual(hi + SKETCH_RELATIVE_ACCURACY * Math.abs(hi) + 1e-9);
  }
}

const rollupRows = async (schema = 'public') =>
  (
    await db.pool.query(
      `select span, bucket, tenant_key, variant_slug, n::text, sum_delta::text, sum_sq_delta::text, min_delta,
              max_delta, encode(sketch, 'hex') as sketch
         from ${schema}.drift_rollup order by span, bucket, tenant_key, variant_slug`,
    )
  ).rows;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  writer = new ProvenanceWriter(store);
  queries = new ProvenanceQueries(db.pool);
  // Days 0 … 7 (about 40 records an hour), each record at its own millisecond.
  await writeRecords(day0, 8 * DAY, 8000);
  startProjector();
  await caughtUp();
}, 60_000);
afterAll(async () => {
  await stopProjector();
  await db.drop();
});

test('a multi-day window comes from the rollup: exact count, avg, min, max; percentiles within 1 %', async () => {
  const filter = days(1, 5);
  expect(await driftStatsFromRollup(db.pool, filter, 'none', new Date())).not.toBeNull();
  const got = await queries.driftStats(filter, 'none');
  const exact = await queries.exactDriftStats(filter, 'none');
  expect(got.total).toBeGreaterThan(4000);
  expectClose(got, exact, await deltas(filter));
});

test('edges off the hour are read from raw rows and merged in', async () => {
  const filter = {
    from: new Date(day0 + DAY + 17 * 60_000 + 123),
    to: new Date(day0 + 3 * DAY + 5 * HOUR + 41 * 60_000),
  };
  expect(await driftStatsFromRollup(db.pool, filter, 'none', new Date())).not.toBeNull();
  expectClose(
    await queries.driftStats(filter, 'none'),
    await queries.exactDriftStats(filter, 'none'),
    await deltas(filter),
  );
});

test('group_by variant and tenant: every group as the exact query has it', async () => {
  const filter = days(0, 7);
  for (const groupBy of ['variant', 'tenant'] as const) {
    const got = await queries.driftStats(filter, groupBy);
    const exact = await queries.exactDriftStats(filter, groupBy);
    expect(Object.keys(got.groups!)).toEqual(Object.keys(exact.groups!));
    expect(Object.keys(got.groups!).length).toBe(3);
    for (const [key, group] of Object.entries(exact.groups!)) {
      const column = groupBy === 'variant' ? 'variant_slug' : 'tenant_id';
      const extra = key === 'global' ? `${column} is null` : `${column} = '${key}'`;
      expectClose(got.groups![key]!, group, await deltas(filter, extra));
    }
    expectClose(got, exact, await deltas(filter));
  }
});

test("a tenant's window holds its own records only", async () => {
  const filter = { ...days(2, 6), tenant: 'tenant-b' };
  const got = await queries.driftStats(filter, 'tenant');
  expect(Object.keys(got.groups!)).toEqual(['tenant-b']);
  expectClose(got, await queries.exactDriftStats(filter, 'none'), await deltas(filter));
  const none = await queries.driftStats({ ...days(2, 6), tenant: 'tenant-z' }, 'none');
  expect(none).toMatchObject({ total: 0, avg_delta: null, p50_delta: null });
});

test('an open window (no dates) counts every record, as the exact query does', async () => {
  expectClose(
    await queries.driftStats({}, 'none'),
    await queries.exactDriftStats({}, 'none'),
    await deltas({}),
  );
});

test('a batch applied in one call, in two, or one event at a time gives the same rows; so does a rebuild', async () => {
  const { rows } = await db.pool.query<{
    event_id: string;
    stream_name: string;
    stream_version: string;
    event_type: string;
    data: StoredEvent['data'];
    global_position: string;
    transaction_id: string;
    recorded_at: Date;
  }>(
    `select event_id, stream_name, stream_version, event_type, data, global_position, transaction_id::text, recorded_at
       from es_events where event_type like 'Provenance%' order by transaction_id, global_position limit 1200`,
  );
  const events: StoredEvent[] = rows.map((r) => ({
    eventId: r.event_id,
    streamName: r.stream_name,
    streamVersion: Number(r.stream_version),
    type: r.event_type,
    data: r.data,
    metadata: {},
    globalPosition: Number(r.global_position),
    transactionId: r.transaction_id,
    recordedAt: r.recorded_at,
  }));
  const applyIn = async (schema: string, chunks: StoredEvent[][]) => {
    await db.pool.query(`create schema ${schema};
      create table ${schema}.drift_rollup (like public.drift_rollup including all);
      create table ${schema}.drift_rollup_retention (like public.drift_rollup_retention including all)`);
    for (const chunk of chunks)
      await inTransaction(db.pool, async (tx: pg.ClientBase) => {
        await tx.query(`set local search_path = ${schema}, public`);
        await driftRollupProjection.apply(tx, chunk);
      });
    return rollupRows(schema);
  };
  const whole = await applyIn('split_one', [events]);
  const halves = await applyIn('split_two', [events.slice(0, 555), events.slice(555)]);
  const singles = await applyIn(
    'split_each',
    [events.slice(0, 40).map((e) => [e]), [events.slice(40)]].flat(),
  );
  expect(whole.length).toBeGreaterThan(20);
  expect(halves).toEqual(whole);
  expect(singles).toEqual(whole);
  // The lane's way: the same records read from the stored rows by range (prepareRange), not as events.
  expect(events.every((e) => e.type === 'ProvenanceRecorded')).toBe(true);
  await db.pool.query(`create schema by_range;
    create table by_range.drift_rollup (like public.drift_rollup including all);
    create table by_range.drift_rollup_retention (like public.drift_rollup_retention including all)`);
  await inTransaction(db.pool, async (tx: pg.ClientBase) => {
    await tx.query('set local search_path = by_range, public');
    const { text, values } = await driftRollupProjection.prepareRange!(tx, {
      after: START,
      through: positionOf(events[events.length - 1]!),
      types: ['ProvenanceRecorded'],
    });
    await tx.query(text, values);
  });
  expect(await rollupRows('by_range')).toEqual(whole);

  const before = await rollupRows();
  await rebuildProjection(db.pool, store, driftRollupProjection, { batchSize: 333 });
  expect(await rollupRows()).toEqual(before);
}, 60_000);

test('while the rollup lane is behind, hours it has not seen are read raw: figures stay exact', async () => {
  await stopProjector();
  startProjector([provenanceProjection]);
  // Late records into day 2 (a backfill): the provenance table has them, the rollup not yet.
  await writeRecords(day0 + 2 * DAY + 3 * HOUR, HOUR, 300, 100_000);
  await eventually(async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from provenance where run_id like 'run-1000%'`,
    );
    expect(rows[0]!.n).toBeGreaterThan(0);
    const { rows: p } = await db.pool.query<{ behind: boolean }>(
      `select (select global_position from projection_checkpoints where name = 'provenance') =
              (select max(global_position) from es_events) as behind`,
    );
    expect(p[0]!.behind).toBe(true);
  });
  const filter = days(1, 4);
  expect(await driftStatsFromRollup(db.pool, filter, 'none', new Date())).not.toBeNull();
  expectClose(
    await queries.driftStats(filter, 'none'),
    await queries.exactDriftStats(filter, 'none'),
    await deltas(filter),
  );
  await stopProjector();
  startProjector();
  await caughtUp();
  expectClose(
    await queries.driftStats(filter, 'none'),
    await queries.exactDriftStats(filter, 'none'),
    await deltas(filter),
  );
});

test('retention: the rollup drops the days before the cut-off, the cut-off day is read raw', async () => {
  // The cut-off falls at 06:30 of day 3.
  const cutoff = day0 + 3 * DAY + 6.5 * HOUR;
  const retention = new ProvenanceRetention({
    connectionString: db.url,
    lockId: 7003,
    pool: db.pool,
    store,
    retentionDays: 1,
    clock: () => new Date(cutoff + DAY),
  });
  expect(await retention.runOnce()).toBeGreaterThan(0);
  await caughtUp();
  const { rows } = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from drift_rollup
      where bucket + case span when 'hour' then interval '1 hour' else interval '1 day' end <= $1`,
    [new Date(cutoff)],
  );
  expect(rows[0]!.n).toBe(0);
  for (const filter of [days(0, 7), days(3, 3), {}]) {
    expect(await driftStatsFromRollup(db.pool, filter, 'none', new Date())).not.toBeNull();
    expectClose(
      await queries.driftStats(filter, 'variant'),
      await queries.exactDriftStats(filter, 'variant'),
      await deltas(filter),
    );
  }
});
