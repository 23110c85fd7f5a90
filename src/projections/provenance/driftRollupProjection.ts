import type pg from 'pg';
import type {
  ProvenanceRecorded,
  ProvenanceRetentionApplied,
} from '../../domain/provenance/provenanceRecorded';
import {
  type Decoded,
  type EventRange,
  type RangeStatement,
  defineProjection,
  eventRangeCondition,
  parkAny,
} from '../projection';
import { addValues, decode, encode, newSketch } from './driftSketch';

type RollupEvent = ProvenanceRecorded | ProvenanceRetentionApplied;

/** A bucket's start (UTC) in SQL: the same expression wherever buckets are computed. */
export const bucketStart = (column: string, seconds: number) =>
  `to_timestamp(floor(extract(epoch from ${column}) / ${seconds}) * ${seconds})`;

export const SPAN_SECONDS = { hour: 3600, day: 86_400 } as const;

/**
 * A bucket is kept at four levels: per tenant and variant, per tenant (every variant), per variant (every
 * tenant) and overall, `ALL` standing for "every" (no tenant id or variant is `*`). A query reads the one
 * level its grouping needs, so a 90-day window merges 90 day sketches (270 by variant), not one per
 * tenant and variant of each day.
 */
export const ALL = '*';
export type Span = keyof typeof SPAN_SECONDS;

/**
 * drift_rollup (migration 075): per UTC hour and per UTC day, tenant and variant (and the levels above,
 * see ALL), the count, exact sums and
 * sum of squares, min, max and a DDSketch of cost_delta of the records that have both costs — what
 * drift-stats needs, so its cost does not grow with the rows of its window (docs/projections.md).
 *
 * Its own lane beside `provenance`, from the same events: a record's figures are taken from its event
 * exactly as the provenance projection stores them (jsonb → float8, created_at → timestamptz), so a bucket
 * holds what the provenance rows of that bucket hold once both lanes have read the same events. Additive,
 * so one batch applied in one call or in two gives the same rows, and a rebuild gives the same rows
 * (sketch bytes included: driftSketch.ts encodes canonically). Retention drops the buckets that end at or
 * before its cut-off and remembers the latest cut-off: the query reads every bucket reaching below it from
 * raw rows (records written after a retention with an older created_at are kept by `provenance`, and land
 * in a bucket here that the query does not use).
 */
export const driftRollupProjection = defineProjection<RollupEvent>({
  name: 'drift_rollup',
  handles: ['ProvenanceRecorded', 'ProvenanceRetentionApplied'],
  tables: ['drift_rollup', 'drift_rollup_retention'],
  // Tenants' data, as in `provenance`: an event that cannot be summed is parked, the rest goes on.
  mayPark: parkAny,
  // Records straight from the stored rows (only their four figures leave the database); a retention
  // event between records still comes through `apply`, in order.
  rangeTypes: ['ProvenanceRecorded'],
  prepareRange: (db, range) => recordsInRangeStatement(db, range),
  async apply(tx, events) {
    // In order, as `provenance` does: the records up to a retention, the retention, the records after it.
    let records: Decoded<ProvenanceRecorded>['event']['data'][] = [];
    for (const e of events) {
      if (e.event.type === 'ProvenanceRecorded') {
        records.push(e.event.data);
        continue;
      }
      await addRecords(tx, records);
      records = [];
      await applyRetention(tx, e.event.data.before);
    }
    await addRecords(tx, records);
  },
});

interface BucketGroup {
  span: Span;
  bucket: Date;
  tenant_key: string;
  variant_slug: string;
  n: string;
  sum_delta: string;
  sum_sq_delta: string;
  min_delta: number;
  max_delta: number;
  vals: number[];
  sketch: Buffer | null;
}

/**
 * How a record's four figures are read, from a batch's JSON or from the stored event rows. created_at is
 * read as text and converted only for records with a delta: a record the rollup does not count (no V2
 * cost) must not fail it — a created_at PostgreSQL cannot store is `provenance`'s dead letter, not a
 * second one here.
 */
const FIGURES = 'x(tenant_id text, variant_slug text, cost_delta float8, created_at text)';

async function addRecords(
  tx: pg.ClientBase,
  records: ReadonlyArray<
    Pick<ProvenanceRecorded['data'], 'tenant_id' | 'variant_slug' | 'cost_delta' | 'created_at'>
  >,
): Promise<void> {
  if (records.length === 0) return;
  const json = JSON.stringify(
    records.map((r) => ({
      tenant_id: r.tenant_id,
      variant_slug: r.variant_slug,
      cost_delta: r.cost_delta,
      created_at: r.created_at,
    })),
  );
  await addFigures(tx, {
    text: `select x.* from jsonb_to_recordset($1::jsonb) as ${FIGURES}`,
    values: [json],
  });
}

/** The records of a range, read where they are stored: jsonb_to_record converts as jsonb_to_recordset does. */
function recordsInRangeStatement(db: pg.ClientBase | pg.Pool, range: EventRange): Promise<RangeStatement> {
  const inRange = eventRangeCondition(range);
  return figuresStatement(db, {
    text: `select x.* from es_events e cross join lateral jsonb_to_record(e.data) as ${FIGURES}
            where ${inRange.text}`,
    values: inRange.values,
  });
}

/** `source` selects tenant_id, variant_slug, cost_delta, created_at of the records to add. */
async function addFigures(tx: pg.ClientBase, source: RangeStatement): Promise<void> {
  const { text, values } = await figuresStatement(tx, source);
  await tx.query(text, values);
}

/**
 * Reads the figures of `source` per bucket (exact, in SQL) with each bucket's stored sketch, merges the
 * sketches in JavaScript and returns the one upsert that writes them (a no-op when there is nothing).
 */
async function figuresStatement(
  db: pg.ClientBase | pg.Pool,
  source: RangeStatement,
): Promise<RangeStatement> {
  const { rows } = await db.query<BucketGroup>(
    `with src as (${source.text}),
     r as (
       select coalesce(tenant_id, '') as tenant_key, variant_slug, cost_delta as d,
              created_at::timestamptz as created_at
         from src
        where cost_delta is not null),
     g as (
       select b.span, b.bucket, l.tenant_key, l.variant_slug, count(*)::text as n,
              sum(d::numeric)::text as sum_delta, sum(d::numeric * d::numeric)::text as sum_sq_delta,
              min(d) as min_delta, max(d) as max_delta, array_agg(d) as vals
         from r cross join lateral (values ('hour', ${bucketStart('r.created_at', SPAN_SECONDS.hour)}),
                                           ('day', ${bucketStart('r.created_at', SPAN_SECONDS.day)})) as b(span, bucket)
                cross join lateral (values (r.tenant_key, r.variant_slug), (r.tenant_key, '${ALL}'),
                                           ('${ALL}', r.variant_slug), ('${ALL}', '${ALL}')) as l(tenant_key, variant_slug)
        group by 1, 2, 3, 4)
     select g.*, t.sketch
       from g left join drift_rollup t using (span, bucket, tenant_key, variant_slug)`,
    source.values,
  );
  const sketches = rows.map((g) => {
    const sketch = g.sketch ? decode(g.sketch) : newSketch();
    addValues(sketch, g.vals);
    return encode(sketch);
  });
  return {
    text: `insert into drift_rollup as t (span, bucket, tenant_key, variant_slug, n, sum_delta, sum_sq_delta,
                                    min_delta, max_delta, sketch)
     select * from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], $6::numeric[],
                          $7::numeric[], $8::float8[], $9::float8[], $10::bytea[])
     on conflict (span, bucket, tenant_key, variant_slug) do update
       set n = t.n + excluded.n,
           sum_delta = t.sum_delta + excluded.sum_delta,
           sum_sq_delta = t.sum_sq_delta + excluded.sum_sq_delta,
           min_delta = least(t.min_delta, excluded.min_delta),
           max_delta = greatest(t.max_delta, excluded.max_delta),
           sketch = excluded.sketch`,
    values: [
      rows.map((g) => g.span),
      rows.map((g) => g.bucket),
      rows.map((g) => g.tenant_key),
      rows.map((g) => g.variant_slug),
      rows.map((g) => g.n),
      rows.map((g) => g.sum_delta),
      rows.map((g) => g.sum_sq_delta),
      rows.map((g) => g.min_delta),
      rows.map((g) => g.max_delta),
      sketches,
    ],
  };
}

async function applyRetention(tx: pg.ClientBase, before: string): Promise<void> {
  await tx.query(
    `delete from drift_rollup
      where bucket + case span when 'hour' then interval '1 hour' else interval '1 day' end <= $1`,
    [before],
  );
  await tx.query(
    `insert into drift_rollup_retention as t (id, before) values (true, $1)
     on conflict (id) do update set before = greatest(t.before, excluded.before)`,
    [before],
  );
}
