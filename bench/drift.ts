import pg from 'pg';
import { rebuildDriftDays } from '../src/projections/provenance/driftRollup';
import { ProvenanceQueries } from '../src/projections/provenance/provenanceQueries';
import { type Figure, createBenchDatabase, figure, measureThroughput, printFigures } from './harness';

/**
 * drift-stats (GET /costsim/provenance/drift-stats, the query behind it) from the daily rollup. Targets
 * (issue 13): p99 for one day over 1M records < 20 ms; over 90 days < 50 ms. Baseline in the same run: a
 * primary-key SELECT of one provenance row (the floor of any query here). Also printed: the exact query
 * over the same records (a `source` filter, which the rollup cannot answer, takes that path) — what every
 * drift-stats cost before the rollup.
 *
 * The records are inserted by SQL and the rollup built with the code the projection and migration 041 use
 * (rebuildDriftDays): a day's row is the same whether its records came in one batch or many (sums add,
 * DDSketch bins merge exactly), and feeding 2M records through the projector would take minutes here.
 */
const DAY_RECORDS = Number(process.env.BENCH_DRIFT_DAY_RECORDS ?? 1_000_000);
const SPREAD_RECORDS = Number(process.env.BENCH_DRIFT_SPREAD_RECORDS ?? 1_000_000);
const DAYS = 90;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const DAY_MS = 86_400_000;
const TENANTS = 4;
const VARIANTS = 3;

/** `count` records from `start`, spread evenly over `days` days, 4 tenants x 3 variants. */
async function fill(pool: pg.Pool, start: number, days: number, count: number): Promise<void> {
  for (let done = 0; done < count; done += 200_000) {
    await pool.query(
      `insert into provenance (id, run_id, tenant_id, variant_slug, source, input_hash, v1_cost, v2_cost,
                               cost_delta, drift_score, created_at)
       select gen_random_uuid(), 'bench', 'tenant-' || (g % ${TENANTS}), 'v' || (g % ${VARIANTS}), 'bench',
              md5(g::text), c.v1, c.v1 + c.d, c.d, 0.1,
              to_timestamp($1::float8 / 1000) + ($3::float8 * g / $4) * interval '1 millisecond'
         from generate_series($2::bigint, least($2::bigint + 200000, $4::bigint) - 1) g,
              lateral (select 1 + (g % 1000) / 100.0 as v1, ((g * 7919) % 20001 - 10000) / 1000.0 as d) c`,
      [start, done, days * DAY_MS, count],
    );
  }
}

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(4);
  const queries = new ProvenanceQueries(db.pool);
  const figures: Figure[] = [];
  try {
    const day0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 100 * DAY_MS;
    await fill(db.pool, day0, 1, DAY_RECORDS);
    await fill(db.pool, day0 + DAY_MS, DAYS, SPREAD_RECORDS);
    await db.pool.query('vacuum analyze provenance');
    const client = await db.pool.connect();
    try {
      const days = Array.from({ length: DAYS + 1 }, (_, d) =>
        new Date(day0 + d * DAY_MS).toISOString().slice(0, 10),
      );
      await rebuildDriftDays(client, days);
    } finally {
      client.release();
    }
    await db.pool.query('vacuum analyze provenance_drift_daily');
    const { rows } = await db.pool.query<{ id: string; n: string }>(
      `select (select id from provenance limit 1) as id, (select count(*) from provenance_drift_daily) as n`,
    );
    figures.push(figure('drift', 'records', DAY_RECORDS + SPREAD_RECORDS, 'records'));
    figures.push(figure('drift', 'rollup_rows', Number(rows[0]!.n), 'rows'));

    const pk = await measureThroughput(1, DURATION_MS, async () => {
      await db.pool.query('select * from provenance where id = $1', [rows[0]!.id]);
    });
    figures.push(figure('drift', 'pk_select_p99', pk.p99Ms, 'ms'));
    const oneDay = { from: new Date(day0), before: new Date(day0 + DAY_MS) };
    const ninety = { from: new Date(day0 + DAY_MS), before: new Date(day0 + (DAYS + 1) * DAY_MS) };
    for (const [name, window] of [
      ['one_day_1m', oneDay],
      ['ninety_days', ninety],
    ] as const) {
      for (const groupBy of ['none', 'variant'] as const) {
        const t = await measureThroughput(1, DURATION_MS, async () => {
          await queries.driftStats(window, groupBy);
        });
        figures.push(figure('drift', `drift_stats_${name}_${groupBy}_p99`, t.p99Ms, 'ms', pk.p99Ms));
        figures.push(figure('drift', `drift_stats_${name}_${groupBy}_p50`, t.p50Ms, 'ms', pk.p50Ms));
      }
      // Before the rollup: the exact query over the same records, a few times (seconds each).
      const exact = await measureThroughput(1, 1, async () => {
        await queries.driftStats({ ...window, source: 'bench' }, 'none');
      });
      figures.push(figure('drift', `exact_query_${name}_none`, exact.p99Ms, 'ms', pk.p99Ms));
    }
  } finally {
    await db.drop();
  }
  return figures;
}

if (require.main === module) {
  run().then(printFigures, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
