import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { driftRollupProjection } from '../src/projections/provenance/driftRollupProjection';
import { provenanceProjection } from '../src/projections/provenance/provenanceProjection';
import { type ProvenanceFilter, ProvenanceQueries } from '../src/projections/provenance/provenanceQueries';
import { Projector } from '../src/projections/runtime/projector';
import { type Figure, createBenchDatabase, figure, measureThroughput, printFigures } from './harness';

/**
 * GET /costsim/provenance/drift-stats over 1M provenance records (issue #13 point 4), through the query
 * code the route calls (ProvenanceQueries.driftStats, with the route's bounds: a day is 00:00:00.000 …
 * 23:59:59.999 UTC).
 *
 * Data: BENCH_DRIFT_RECORDS (1 000 000) ProvenanceRecorded events written straight into es_events with
 * INSERT … SELECT, spread evenly over the 90 days ending two days ago (≈ 11 100 a day), 3 tenants and no
 * tenant, 3 variants, deltas of both signs; and BENCH_DRIFT_HOT_RECORDS (1 000 000) more on one "hot" day
 * of tenant `hot` (the worst case for a one-day window). Both lanes, `provenance` and `drift_rollup`, are
 * then built by the real projector from those events (not by a shortcut), and the tables ANALYZEd.
 *
 * Figures: p50/p99 of drift-stats for one day and for 90 days (none and group_by=variant), one day off the
 * hour (raw edges), and the hot day; baseline in the same run: the exact full-scan query
 * (exactDriftStats, what drift-stats ran before) over the same window, and the ratio.
 */
const BENCH = 'drift';
const RECORDS = Number(process.env.BENCH_DRIFT_RECORDS ?? 1_000_000);
const HOT_RECORDS = Number(process.env.BENCH_DRIFT_HOT_RECORDS ?? 1_000_000);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const DAY = 86_400_000;
// One INSERT (one transaction) per 5 000 events, as a write of 5 000 records would be: the lanes read a
// transaction's events in position order, and one 100 000-event transaction is an artefact no writer makes.
const CHUNK = 5_000;
const ONLY_LOAD = Boolean(process.env.BENCH_DRIFT_ONLY_LOAD);

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(16);
  const store = new PostgresEventStore(db.pool);
  const figures: Figure[] = [];
  const lastDay = Math.floor(Date.now() / DAY) * DAY - 2 * DAY; // start of the last day of data
  const firstDay = lastDay - 89 * DAY;
  const hotDay = lastDay - 30 * DAY;
  try {
    const load = async (
      count: number,
      startMs: number,
      spanMs: number,
      tenant: string | null,
      tag: string,
    ) => {
      for (let offset = 0; offset < count; offset += CHUNK) {
        await db.pool.query(
          `insert into es_events (event_id, stream_name, stream_version, event_type, data)
           select r.id, 'provenance-bench-${tag}-' || (r.i / 1000), r.i % 1000 + 1, 'ProvenanceRecorded',
                  jsonb_build_object(
                    'id', r.id, 'run_id', null, 'tenant_id', coalesce($4::text, (array['t1', 't2', 't3', null])[r.i % 4 + 1]),
                    'variant_slug', (array['v1', 'v2', 'canary'])[(r.i / 7) % 3 + 1], 'source', 'sandbox',
                    'model_version', null, 'adapter_version', null, 'commit_sha', null,
                    'input_hash', md5(r.i::text) || md5(r.i::text), 'output_hash', null,
                    'v1_cost', r.v1, 'v2_cost', r.v2, 'cost_delta', r.v2 - r.v1, 'drift_score', null,
                    'verdict', null, 'payload', '{}'::jsonb, 'runtime_ms', null,
                    'created_at', to_char(to_timestamp(($5::float8 + r.i::float8 / $6::float8 * $7::float8) / 1000)
                                          at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
             from (select gen_random_uuid() as id, i, (i * 7919 % 100000) / 100.0::float8 as v1,
                          (i * 7919 % 100000) / 100.0::float8 + ((i * 104729 % 40001) - 16000) / 100.0::float8 as v2
                     from generate_series($1::bigint, least($2::bigint, $3::bigint) - 1) i) r
            order by r.i`,
          [offset, offset + CHUNK, count, tenant, startMs, count, spanMs],
        );
      }
    };
    const loadStarted = performance.now();
    await load(RECORDS, firstDay, 90 * DAY, null, 'spread');
    await load(HOT_RECORDS, hotDay, DAY, 'hot', 'hot');
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    // As autovacuum would after such a load: without statistics the lanes' reads plan a 2M-row table as
    // an empty one (12 s a batch instead of about one).
    await db.pool.query('analyze es_events');

    // Both lanes from the events, by the real projector.
    const projector = new Projector({
      pool: db.pool,
      store,
      connectionString: db.url,
      projections: [provenanceProjection, driftRollupProjection],
      lockId: 7010,
      batchSize: 5000,
      pollMs: 20,
    });
    const started = performance.now();
    const laneSeconds: Record<string, number> = {};
    projector.start();
    try {
      for (const deadline = Date.now() + 1_800_000; ;) {
        const { rows } = await db.pool.query<{ name: string; done: boolean }>(
          `select name, global_position = (select max(global_position) from es_events) as done
             from projection_checkpoints where name in ('provenance', 'drift_rollup')`,
        );
        for (const r of rows)
          if (r.done && laneSeconds[r.name] === undefined)
            laneSeconds[r.name] = (performance.now() - started) / 1000;
        if (Object.keys(laneSeconds).length === 2) break;
        if (Date.now() > deadline) throw new Error(`projection did not catch up: ${JSON.stringify(rows)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await projector.stop();
    }
    await db.pool.query(
      'analyze provenance; analyze drift_rollup; analyze es_events; analyze projection_checkpoints',
    );
    const { rows: sizes } = await db.pool.query<{ provenance: number; rollup: number }>(
      `select (select count(*)::int from provenance) as provenance, (select count(*)::int from drift_rollup) as rollup`,
    );
    const total = RECORDS + HOT_RECORDS;
    if (sizes[0]!.provenance !== total)
      throw new Error(`provenance holds ${sizes[0]!.provenance} of ${total}`);

    const queries = new ProvenanceQueries(db.pool);
    if (ONLY_LOAD) return figures;
    const dayWindow = (startMs: number, days = 1): ProvenanceFilter => ({
      from: new Date(startMs),
      to: new Date(startMs + days * DAY - 1), // the route's end_date=YYYY-MM-DD: 23:59:59.999
    });
    const cases: Array<[string, ProvenanceFilter, 'none' | 'variant']> = [
      ['one_day', { ...dayWindow(lastDay - 45 * DAY), tenant: 't1' }, 'none'],
      ['one_day_all_tenants', dayWindow(lastDay - 45 * DAY), 'none'],
      [
        'one_day_off_hour',
        { from: new Date(lastDay - 45 * DAY + 37_123_456), to: new Date(lastDay - 44 * DAY + 37_123_456) },
        'none',
      ],
      ['ninety_days', dayWindow(firstDay, 90), 'none'],
      ['ninety_days_by_variant', dayWindow(firstDay, 90), 'variant'],
      ['hot_day_1m', { ...dayWindow(hotDay), tenant: 'hot' }, 'none'],
      ['hot_day_1m_all_tenants', dayWindow(hotDay), 'none'],
    ];
    for (const [name, filter, groupBy] of cases) {
      const fast = await queries.driftStats(filter, groupBy);
      const exact = await queries.exactDriftStats(filter, groupBy);
      if (
        fast.total !== exact.total ||
        fast.min_delta !== exact.min_delta ||
        fast.max_delta !== exact.max_delta
      )
        throw new Error(
          `${name}: rollup ${JSON.stringify(fast)} differs from exact ${JSON.stringify(exact)}`,
        );
      const rolled = await measureThroughput(1, DURATION_MS, async () => {
        await queries.driftStats(filter, groupBy);
      });
      const scanned = await measureThroughput(1, DURATION_MS, async () => {
        await queries.exactDriftStats(filter, groupBy);
      });
      const p99Error = exact.p99_delta
        ? Math.abs(fast.p99_delta! - exact.p99_delta) / Math.abs(exact.p99_delta)
        : 0;
      figures.push(
        figure(BENCH, `${name}_records`, exact.total, 'records'),
        figure(BENCH, `${name}_p50`, rolled.p50Ms, 'ms', scanned.p50Ms),
        figure(BENCH, `${name}_p99`, rolled.p99Ms, 'ms', scanned.p99Ms),
        figure(BENCH, `${name}_p99_delta_relative_error`, p99Error, 'share'),
      );
    }
    figures.push(
      figure(BENCH, 'events_loaded', total, 'events'),
      figure(BENCH, 'load_seconds', loadSeconds, 's'),
      figure(BENCH, 'provenance_lane_catch_up', laneSeconds.provenance!, 's'),
      figure(BENCH, 'drift_rollup_lane_catch_up', laneSeconds.drift_rollup!, 's'),
      figure(BENCH, 'drift_rollup_rows', sizes[0]!.rollup, 'rows'),
    );
  } finally {
    if (process.env.BENCH_DRIFT_KEEP) console.log(`kept ${db.url}`);
    else await db.drop();
  }
  return figures;
}

if (require.main === module) {
  run().then(printFigures, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
