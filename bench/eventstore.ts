import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { benchPayload, createRawInsertBaseline } from './rawInsertBaseline';
import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { type Checkpoint, START } from '../src/infra/eventStore/eventStore';
import {
  type Figure,
  type Throughput,
  createBenchDatabase,
  figure,
  measureThroughput,
  printFigures,
} from './harness';

/**
 * Event-store throughput against plain INSERTs into a table of the same shape (bench_raw), at the same
 * concurrency, measured in the same run. Targets (issue 13): appends at concurrency 8 >= 0.85 x a raw
 * single-row INSERT, both with an empty log and with FILL_EVENTS (1M) events already stored in each table;
 * 10-event appends >= 0.85 x a 10-row multi-row INSERT. Catch-up readAll against a keyset scan.
 *
 * Each pair is measured in interleaved rounds (raw, store, raw, store, ...) and summed, so a shared
 * machine's drift during the run falls on both sides alike.
 */
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CATCH_UP_EVENTS = Number(process.env.BENCH_CATCH_UP_EVENTS ?? 200_000);
const FILL_EVENTS = Number(process.env.BENCH_FILL_EVENTS ?? 1_000_000);
const PAYLOAD = JSON.stringify(benchPayload);

type Op = (worker: number, i: number) => Promise<void>;

interface Pair {
  raw: Throughput;
  store: Throughput;
}

/** Totals over the rounds: operations / seconds, and the worse p99 of the rounds. */
function combine(runs: Throughput[]): Throughput {
  const operations = runs.reduce((n, r) => n + r.operations, 0);
  const seconds = runs.reduce((s, r) => s + r.operations / r.opsPerSecond, 0);
  return {
    operations,
    opsPerSecond: operations / seconds,
    p50Ms: Math.max(...runs.map((r) => r.p50Ms)),
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
  };
}

async function interleaved(concurrency: number, raw: () => Op, store: () => Op): Promise<Pair> {
  const raws: Throughput[] = [];
  const stores: Throughput[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    raws.push(await measureThroughput(concurrency, DURATION_MS, raw()));
    stores.push(await measureThroughput(concurrency, DURATION_MS, store()));
  }
  return { raw: combine(raws), store: combine(stores) };
}

/** A 10-row multi-row INSERT into bench_raw: the fair limit for a 10-event append. */
function multiRowInsert(pool: pg.Pool, rows: number) {
  const values = Array.from(
    { length: rows },
    (_, r) =>
      `($${r * 3 + 1}::uuid, $${r * 3 + 2}, $${r * 3 + 3}::bigint, 'Benchmarked', $${rows * 3 + 1}, '{}')`,
  ).join(', ');
  const text = `insert into bench_raw (event_id, stream_name, stream_version, event_type, data, metadata)
    values ${values}`;
  let run = 0;
  return () => {
    const prefix = `raw${rows}-${run++}`;
    return (worker: number, i: number) =>
      pool
        .query(text, [
          ...Array.from({ length: rows }, (_, r) => [
            randomUUID(),
            `${prefix}-${worker}`,
            i * rows + r + 1,
          ]).flat(),
          PAYLOAD,
        ])
        .then(() => undefined);
  };
}

const IN_DATABASE_CALLS = Number(process.env.BENCH_IN_DATABASE_CALLS ?? 5000);

/**
 * What an append costs inside PostgreSQL (no round trip, no commit: on a loaded machine both hide it):
 * `calls` appends of `size` events in one rolled-back transaction, against as many plain INSERTs of `size`
 * rows into bench_raw, interleaved over ROUNDS, as µs per call. The best round of each (least disturbed).
 */
async function inDatabaseCost(pool: pg.Pool, size: number, calls: number) {
  const ids = `array(select gen_random_uuid() from generate_series(1, ${size}))`;
  const texts = (v: string) => `array_fill(${v}::text, array[${size}])`;
  const payloads = `array_fill('${PAYLOAD}'::text::jsonb, array[${size}])`;
  const bodies = {
    raw: `insert into bench_raw (event_id, stream_name, stream_version, event_type, data, metadata)
            select gen_random_uuid(), 'indb-raw-' || i, v, 'Benchmarked', '${PAYLOAD}'::text::jsonb, '{}'
              from generate_series(1, ${size}) v`,
    store: `perform * from es_append('indb-store-' || i, 'any', null, ${ids}, ${texts("'Benchmarked'")},
                                     ${payloads}, null)`,
  };
  const best = { raw: Infinity, store: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of ['raw', 'store'] as const) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const started = performance.now();
        await client.query(`do $$ begin for i in 1..${calls} loop ${bodies[side]}; end loop; end $$`);
        best[side] = Math.min(best[side], ((performance.now() - started) * 1000) / calls);
      } finally {
        await client.query('rollback');
        client.release();
      }
    }
  }
  return best;
}

/** Tops `table` up to `target` rows in one statement per 100 000 (1 000 events per stream). */
async function fill(pool: pg.Pool, table: 'es_events' | 'bench_raw', target: number): Promise<number> {
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(`select count(*) as n from ${table}`);
    const have = Number(rows[0]!.n);
    if (have >= target) return have;
    await pool.query(
      `insert into ${table} (event_id, stream_name, stream_version, event_type, data)
       select gen_random_uuid(), 'fill-' || ($2::bigint + g) / 1000, ($2::bigint + g) % 1000 + 1, 'Benchmarked', $1::jsonb
         from generate_series(0, least($3::bigint, 100000) - 1) g`,
      [PAYLOAD, have, target - have],
    );
  }
}

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(16);
  const store = new PostgresEventStore(db.pool);
  const figures: Figure[] = [];
  try {
    const baseline = await createRawInsertBaseline(db.pool);
    const raw10 = multiRowInsert(db.pool, 10);
    let appendRun = 0;
    const append = (size: number) => () => {
      const prefix = `append${size}-${appendRun++}`;
      return (worker: number) =>
        store
          .append(
            `${prefix}-${worker}`,
            Array.from({ length: size }, () => ({ type: 'Benchmarked', data: benchPayload })),
            { expected: 'any' },
          )
          .then(() => undefined);
    };
    const inDatabase = async (suffix: string) => {
      for (const size of [1, 10]) {
        const cost = await inDatabaseCost(
          db.pool,
          size,
          size === 1 ? IN_DATABASE_CALLS : IN_DATABASE_CALLS / 5,
        );
        figures.push(figure('eventstore', `in_db_raw_insert${size}${suffix}`, cost.raw, 'µs/statement'));
        // A cost: the ratio is how many raw INSERTs one append costs inside the database.
        figures.push(figure('eventstore', `in_db_append${size}${suffix}`, cost.store, 'µs/append', cost.raw));
      }
    };
    const pairs = async (suffix: string, concurrencies: number[]) => {
      await inDatabase(suffix);
      for (const c of concurrencies) {
        const single = await interleaved(c, () => baseline.nextRun(), append(1));
        figures.push(figure('eventstore', `raw_insert_c${c}${suffix}`, single.raw.opsPerSecond, 'rows/s'));
        figures.push(
          figure(
            'eventstore',
            `append_single_c${c}${suffix}`,
            single.store.opsPerSecond,
            'appends/s',
            single.raw.opsPerSecond,
          ),
        );
        figures.push(
          figure(
            'eventstore',
            `append_single_c${c}${suffix}_p99`,
            single.store.p99Ms,
            'ms',
            single.raw.p99Ms,
          ),
        );
      }
      const batch = await interleaved(8, raw10, append(10));
      figures.push(figure('eventstore', `raw_insert10_c8${suffix}`, batch.raw.opsPerSecond, 'statements/s'));
      figures.push(
        figure(
          'eventstore',
          `append_batch10_c8${suffix}`,
          batch.store.opsPerSecond,
          'batches/s',
          batch.raw.opsPerSecond,
        ),
      );
      figures.push(
        figure('eventstore', `append_batch10_c8${suffix}_events`, batch.store.opsPerSecond * 10, 'events/s'),
      );
    };

    // An (almost) empty log: only what the measurements themselves write.
    await pairs('', [1, 8]);

    // Catch-up: fill to >= CATCH_UP_EVENTS with 1 000-event appends, then read everything from the start.
    const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from es_events');
    for (let have = Number(rows[0]!.n), s = 0; have < CATCH_UP_EVENTS; have += 1000, s++) {
      await store.append(
        `catchup-${s % 50}`,
        Array.from({ length: 1000 }, () => ({ id: randomUUID(), type: 'Benchmarked', data: benchPayload })),
      );
    }
    await db.pool.query('analyze es_events; analyze bench_raw');
    await fill(db.pool, 'bench_raw', Number(rows[0]!.n) + CATCH_UP_EVENTS);
    const started = performance.now();
    let cursor: Checkpoint = START;
    let read = 0;
    for (;;) {
      const page = await store.readAll({ after: cursor, limit: 2000 });
      if (page.checkpoint === cursor) break;
      read += page.events.length;
      cursor = page.checkpoint;
    }
    const catchUp = read / ((performance.now() - started) / 1000);
    // Baseline: keyset paging over the raw table, same page size, same row shape.
    const rawStarted = performance.now();
    let last = 0;
    let rawRead = 0;
    for (;;) {
      const page = await db.pool.query<{ global_position: string }>(
        'select * from bench_raw where global_position > $1 order by global_position limit 2000',
        [last],
      );
      if (page.rows.length === 0) break;
      rawRead += page.rows.length;
      last = Number(page.rows[page.rows.length - 1]!.global_position);
    }
    const rawScan = rawRead / ((performance.now() - rawStarted) / 1000);
    figures.push(figure('eventstore', 'catch_up_events_read', read, 'events'));
    figures.push(figure('eventstore', 'catch_up_read_all', catchUp, 'events/s', rawScan));
    figures.push(figure('eventstore', 'raw_keyset_scan', rawScan, 'rows/s'));

    // A grown log: both tables filled to FILL_EVENTS, then the same pairs again (flat cost as it grows).
    const stored = await fill(db.pool, 'es_events', FILL_EVENTS);
    const rawStored = await fill(db.pool, 'bench_raw', FILL_EVENTS);
    await db.pool.query('checkpoint');
    await db.pool.query('vacuum analyze es_events');
    await db.pool.query('vacuum analyze bench_raw');
    figures.push(figure('eventstore', 'events_stored_1m', stored, 'events', rawStored));
    await pairs('_1m', [8]);
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
