import type pg from 'pg';
import { mergeSketch, sketchFromBytes, sketchOf, sketchToBytes } from './driftSketch';

/**
 * provenance_drift_daily (migration 041): per tenant, variant and UTC day, the count, exact numeric sums
 * (of cost_delta and its square), min, max and a DDSketch of the records with both costs. Written in the
 * provenance projection's transaction from the rows it actually inserted (so a replayed record, which
 * inserts nothing, adds nothing), and rebuilt per day from the records where retention cut into a day.
 */

/** One group of just-inserted records, as insertChunk's statement returns it. */
export interface InsertedGroup {
  tenant_id: string | null;
  variant_slug: string;
  /** YYYY-MM-DD (UTC) */
  day: string;
  n: number;
  sum_delta: string;
  sumsq_delta: string;
  min_delta: number;
  max_delta: number;
  deltas: number[];
}

/**
 * Groups the rows of an `insert … returning tenant_id, variant_slug, created_at, cost_delta` (a CTE
 * named `ins`) into InsertedGroup rows.
 */
export const INSERTED_GROUPS_SQL = `select tenant_id, variant_slug, (created_at at time zone 'UTC')::date::text as day,
         count(*)::int as n, sum(cost_delta::numeric)::text as sum_delta,
         sum(cost_delta::numeric * cost_delta::numeric)::text as sumsq_delta,
         min(cost_delta) as min_delta, max(cost_delta) as max_delta, array_agg(cost_delta) as deltas
    from ins where cost_delta is not null
   group by tenant_id, variant_slug, (created_at at time zone 'UTC')::date`;

const key = (tenant: string | null, variant: string, day: string) => JSON.stringify([tenant, variant, day]);

/** Adds the groups to their rollup rows: sums in SQL, sketches merged here under the rows' locks. */
export async function addToDriftRollup(tx: pg.ClientBase, groups: readonly InsertedGroup[]): Promise<void> {
  if (groups.length === 0) return;
  const { rows: existing } = await tx.query<{
    tenant_id: string | null;
    variant_slug: string;
    day: string;
    sketch: Buffer;
  }>(
    `select d.tenant_id, d.variant_slug, d.day::text as day, d.sketch
       from provenance_drift_daily d
       join unnest($1::text[], $2::text[], $3::date[]) as k(tenant_id, variant_slug, day)
         on d.day = k.day and d.variant_slug = k.variant_slug and d.tenant_id is not distinct from k.tenant_id
      order by d.day, d.variant_slug, d.tenant_id
        for update of d`,
    [groups.map((g) => g.tenant_id), groups.map((g) => g.variant_slug), groups.map((g) => g.day)],
  );
  const stored = new Map(existing.map((r) => [key(r.tenant_id, r.variant_slug, r.day), r.sketch]));
  const sketches = groups.map((g) => {
    const sketch = sketchOf(g.deltas);
    const before = stored.get(key(g.tenant_id, g.variant_slug, g.day));
    if (before) {
      const merged = sketchFromBytes(before);
      mergeSketch(merged, sketch);
      return sketchToBytes(merged);
    }
    return sketchToBytes(sketch);
  });
  await tx.query(
    `insert into provenance_drift_daily as d
            (tenant_id, variant_slug, day, n, sum_delta, sumsq_delta, min_delta, max_delta, sketch)
     select * from unnest($1::text[], $2::text[], $3::date[], $4::bigint[], $5::numeric[], $6::numeric[],
                          $7::float8[], $8::float8[], $9::bytea[])
     on conflict on constraint provenance_drift_daily_key do update set
       n = d.n + excluded.n, sum_delta = d.sum_delta + excluded.sum_delta,
       sumsq_delta = d.sumsq_delta + excluded.sumsq_delta,
       min_delta = least(d.min_delta, excluded.min_delta), max_delta = greatest(d.max_delta, excluded.max_delta),
       sketch = excluded.sketch`,
    [
      groups.map((g) => g.tenant_id),
      groups.map((g) => g.variant_slug),
      groups.map((g) => g.day),
      groups.map((g) => g.n),
      groups.map((g) => g.sum_delta),
      groups.map((g) => g.sumsq_delta),
      groups.map((g) => g.min_delta),
      groups.map((g) => g.max_delta),
      sketches,
    ],
  );
}

/**
 * Recomputes the rollup rows of these UTC days (YYYY-MM-DD) from the records stored now: after retention
 * removed part of a day, and to roll up records that were stored before the rollup existed.
 */
export async function rebuildDriftDays(db: pg.ClientBase, days: readonly string[]): Promise<void> {
  for (const day of days) {
    await db.query('delete from provenance_drift_daily where day = $1::date', [day]);
    const { rows } = await db.query<InsertedGroup>(
      `with ins as (
         select tenant_id, variant_slug, created_at, cost_delta from provenance
          where created_at >= ($1::date)::timestamp at time zone 'UTC'
            and created_at < ($1::date + 1)::timestamp at time zone 'UTC')
       ${INSERTED_GROUPS_SQL}`,
      [day],
    );
    await addToDriftRollup(db, rows);
  }
}
