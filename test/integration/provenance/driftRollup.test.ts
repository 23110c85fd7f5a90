import { createHash } from 'node:crypto';
import { ProvenanceRetention } from '../../../src/commands/provenance/provenanceRetention';
import {
  type NewProvenanceRecord,
  ProvenanceWriter,
} from '../../../src/commands/provenance/provenanceWriter';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { provenanceProjection } from '../../../src/projections/provenance/provenanceProjection';
import {
  type DriftStats,
  type ProvenanceFilter,
  ProvenanceQueries,
} from '../../../src/projections/provenance/provenanceQueries';
import { Projector } from '../../../src/projections/runtime/projector';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

let db: TestDatabase;
let store: PostgresEventStore;
let projector: Projector;
let queries: ProvenanceQueries;

const DAY = 86_400_000;
// Three whole UTC days, 30–32 days ago (inside any retention), and records spread over each.
const day0 = Math.floor(Date.now() / DAY) * DAY - 32 * DAY;
const PER_DAY = 600;

function record(i: number, at: number): NewProvenanceRecord {
  // Deltas of both signs over several magnitudes (V2 cheaper and dearer), some exactly zero.
  const v1 = 1 + (i % 97);
  const delta = i % 50 === 0 ? 0 : ((i * 7919) % 2001) - 1000 + (i % 13) / 10;
  return {
    run_id: `r-${i}`,
    tenant_id: i % 3 === 0 ? null : `tenant-${i % 2}`,
    variant_slug: i % 4 === 0 ? 'v1' : 'v2',
    source: 'backfill',
    model_version: null,
    adapter_version: null,
    commit_sha: null,
    input_hash: createHash('sha256').update(String(i)).digest('hex'),
    output_hash: null,
    v1_cost: v1,
    v2_cost: v1 + delta,
    drift_score: null,
    verdict: null,
    payload: {},
    runtime_ms: null,
    created_at: new Date(at).toISOString(),
  };
}

async function caughtUp() {
  await eventually(async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from es_events e, projection_checkpoints c
        where c.name = 'provenance' and (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`,
    );
    expect(rows[0]!.n).toBe(0);
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  queries = new ProvenanceQueries(db.pool);
  projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [provenanceProjection],
    lockId: 7040,
    pollMs: 20,
  });
  projector.start();
  const writer = new ProvenanceWriter(store);
  const records: NewProvenanceRecord[] = [];
  for (let d = 0; d < 3; d++) {
    for (let k = 0; k < PER_DAY; k++) {
      const i = d * PER_DAY + k;
      records.push(record(i, day0 + d * DAY + Math.floor((k * DAY) / PER_DAY) + (i % 7)));
    }
  }
  // In several writes, so days and groups are added to in several batches (sketches merged).
  for (let i = 0; i < records.length; i += 250) await writer.write(records.slice(i, i + 250));
  await caughtUp();
});
afterAll(async () => {
  await projector.stop();
  await db.drop();
});

/** The same statistics computed from the records (a filter on source takes the exact path). */
const exact = (filter: ProvenanceFilter, groupBy: 'none' | 'variant' | 'tenant' = 'none') =>
  queries.driftStats({ ...filter, source: 'backfill' }, groupBy);

/** The deltas the exact statistics are over, ascending. */
async function deltas(filter: ProvenanceFilter): Promise<number[]> {
  const { rows } = await db.pool.query<{ d: number }>(
    `select cost_delta as d from provenance
      where cost_delta is not null and ($1::text is null or variant_slug = $1)
        and ($2::boolean or tenant_id is not distinct from $3)
        and ($4::timestamptz is null or created_at >= $4) and ($5::timestamptz is null or created_at <= $5)
        and ($6::timestamptz is null or created_at < $6)
      order by 1`,
    [
      filter.variant_slug ?? null,
      filter.tenant === undefined,
      filter.tenant ?? null,
      filter.from ?? null,
      filter.to ?? null,
      filter.before ?? null,
    ],
  );
  return rows.map((r) => r.d);
}

/**
 * Exact figures equal; a percentile within 1 % (of the magnitude) of the values around its rank
 * q·(n − 1) — the documented bound — or equal to percentile_cont when exact.
 */
function expectMatches(got: DriftStats, want: DriftStats, sorted: number[] | 'exact') {
  expect(got.total).toBe(want.total);
  expect([got.min_delta, got.max_delta]).toEqual([want.min_delta, want.max_delta]);
  expect(got.avg_delta).toBeCloseTo(want.avg_delta!, 9);
  expect(got.stddev_delta).toBeCloseTo(want.stddev_delta!, 9);
  for (const [p, q] of [
    ['p50_delta', 0.5],
    ['p90_delta', 0.9],
    ['p99_delta', 0.99],
  ] as const) {
    if (sorted === 'exact') {
      expect(got[p]).toBe(want[p]);
      continue;
    }
    expect(sorted).toHaveLength(want.total);
    const rank = q * (sorted.length - 1);
    const lo = sorted[Math.floor(rank)]!;
    const hi = sorted[Math.ceil(rank)]!;
    expect(got[p]!).toBeGreaterThanOrEqual(lo - 0.01 * Math.abs(lo) - 1e-9);
    expect(got[p]!).toBeLessThanOrEqual(hi + 0.01 * Math.abs(hi) + 1e-9);
  }
}

/** Rollup answer against the exact one, overall and per group. */
async function compare(filter: ProvenanceFilter, groupBy: 'none' | 'variant' | 'tenant') {
  const got = await queries.driftStats(filter, groupBy);
  const want = await exact(filter, groupBy);
  expectMatches(got, want, await deltas(filter));
  if (groupBy === 'none') return;
  expect(Object.keys(got.groups!).sort()).toEqual(Object.keys(want.groups!).sort());
  for (const [key, stats] of Object.entries(want.groups!)) {
    const group =
      groupBy === 'variant'
        ? { ...filter, variant_slug: key }
        : { ...filter, tenant: (key === 'global' ? null : key) as string };
    expectMatches(got.groups![key]!, stats, await deltas(group));
  }
}

test('whole days: count, mean, stddev, min and max exact; percentiles within the sketch bound; by group too', async () => {
  const window = { from: new Date(day0), before: new Date(day0 + 3 * DAY) };
  const { rows } = await db.pool.query<{ n: number }>(
    'select count(*)::int as n from provenance_drift_daily',
  );
  expect(rows[0]!.n).toBeLessThanOrEqual(3 * 2 * 3); // one row per day, variant and tenant (or none)
  for (const groupBy of ['none', 'variant', 'tenant'] as const) await compare(window, groupBy);
  await compare({ ...window, tenant: 'tenant-1', variant_slug: 'v2' }, 'none');
  // Unbounded: every day.
  await compare({}, 'none');
});

test('partial days at the edges come from their records; a window inside one day is exact', async () => {
  const edges = { from: new Date(day0 + DAY / 3), to: new Date(day0 + 2 * DAY + DAY / 2) };
  await compare(edges, 'variant');
  const inside = { from: new Date(day0 + DAY + 1000), to: new Date(day0 + 2 * DAY - 1000) };
  expectMatches(await queries.driftStats(inside, 'none'), await exact(inside), 'exact');
  const empty = { from: new Date(day0 - 10 * DAY), before: new Date(day0 - 9 * DAY) };
  expect(await queries.driftStats(empty, 'none')).toEqual(await exact(empty));
});

test('a replayed batch adds nothing; a rebuild produces the same rollup rows', async () => {
  const rollup = async () =>
    (
      await db.pool.query(
        `select tenant_id, variant_slug, day::text, n, sum_delta::text, sumsq_delta::text, min_delta, max_delta
           from provenance_drift_daily order by day, variant_slug, tenant_id`,
      )
    ).rows;
  const before = await rollup();
  const { events } = await store.readAll({
    after: { transactionId: '0', globalPosition: 0 },
    limit: 300,
    types: ['ProvenanceRecorded'],
  });
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    await provenanceProjection.apply(client, events);
    await client.query('commit');
  } finally {
    client.release();
  }
  expect(await rollup()).toEqual(before);
  await rebuildProjection(db.pool, store, provenanceProjection);
  expect(await rollup()).toEqual(before);
  const window = { from: new Date(day0), before: new Date(day0 + 3 * DAY) };
  await compare(window, 'none');
});

test('retention cutting into a day: the rollup keeps only what the records keep', async () => {
  // Cut at the middle of the second day: retention_days from now.
  const cut = day0 + DAY + DAY / 2;
  const retention = new ProvenanceRetention({
    connectionString: db.url,
    lockId: 7003,
    pool: db.pool,
    store,
    retentionDays: (Date.now() - cut) / DAY,
    clock: () => new Date(Date.now()),
  });
  expect(await retention.runOnce()).toBeGreaterThan(0);
  await caughtUp();
  const { rows } = await db.pool.query<{ day: string }>(
    'select distinct day::text as day from provenance_drift_daily order by 1',
  );
  expect(rows.map((r) => r.day)).toEqual([
    new Date(day0 + DAY).toISOString().slice(0, 10),
    new Date(day0 + 2 * DAY).toISOString().slice(0, 10),
  ]);
  await compare({}, 'tenant');
});
