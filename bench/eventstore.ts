import { randomUUID } from 'node:crypto';
import { APPEND_STREAM_PREFIX, benchPayload, createRawInsertBaseline, fillEvents } from './rawInsertBaseline';
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
 * Event-store appends against a raw INSERT into a table of the same shape (bench/rawInsertBaseline.ts: same
 * columns, defaults and five indexes), at the same concurrency, measured in the same run. Targets (issue 13):
 *  - single-event appends at concurrency 8 >= 0.85 x a single-row INSERT, with an empty log and again with
 *    1M events already stored in both tables (BENCH_FILL_EVENTS, a set-based fill of each, then VACUUM
 *    ANALYZE and a CHECKPOINT so neither side starts with the other's dirty pages); the 1M figure
 *    against the empty-log one says whether the append's cost stays flat as the log grows;
 *  - 10-event appends at concurrency 8 >= 0.85 x a 10-row multi-row INSERT (one statement, 10 VALUES rows);
 *  - catch-up readAll >= 50 000 events/s (issue 2), against keyset paging over the raw table.
 * Each comparison runs rounds of baseline, append, append, baseline (`paired`): the machine is shared, and a
 * load that drifts during the comparison then weighs on both sides alike.
 */
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const CATCH_UP_EVENTS = Number(process.env.BENCH_CATCH_UP_EVENTS ?? 200_000);
const FILL_EVENTS = Number(process.env.BENCH_FILL_EVENTS ?? 1_000_000);

type Operation = (worker: number, i: number) => Promise<void>;

/**
 * Rounds of ABBA (BENCH_ROUNDS, default 4; each side DURATION_MS in all, in 2 x rounds slices): both sides'
 * throughput (operations over time of all its slices) and p99 (the worst slice). Short alternating slices,
 * not two halves: on a machine shared with other work a load that comes and goes within a run then weighs
 * on both sides alike (with two halves, consecutive runs on a busy machine gave c8 ratios of 0.67 and 0.96).
 */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 4));

async function paired(concurrency: number, baseline: () => Operation, subject: () => Operation) {
  const slice = DURATION_MS / (2 * ROUNDS);
  const b: Throughput[] = [];
  const s: Throughput[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    b.push(await measureThroughput(concurrency, slice, baseline()));
    s.push(await measureThroughput(concurrency, slice, subject()));
    s.push(await measureThroughput(concurrency, slice, subject()));
    b.push(await measureThroughput(concurrency, slice, baseline()));
  }
  const all = (xs: Throughput[]) => ({
    opsPerSecond: xs.reduce((sum, x) => sum + x.opsPerSecond, 0) / xs.length,
    p99Ms: Math.max(...xs.map((x) => x.p99Ms)),
  });
  return { baseline: all(b), subject: all(s) };
}

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(16);
  const store = new PostgresEventStore(db.pool);
  const figures: Figure[] = [];
  try {
    const baseline = await createRawInsertBaseline(db.pool);
    let runs = 0;
    const append = (size: number) => () => {
      const prefix = `${APPEND_STREAM_PREFIX}${size}-${runs++}`;
      return (worker: number) =>
        store
          .append(
            `${prefix}-${worker}`,
            Array.from({ length: size }, () => ({ type: 'Benchmarked', data: benchPayload })),
            { expected: 'any' },
          )
          .then(() => undefined);
    };
    const single = (concurrency: number, suffix: string) =>
      paired(concurrency, () => baseline.nextRun(), append(1)).then(({ baseline: raw, subject }) => {
        figures.push(figure('eventstore', `raw_insert_c${concurrency}${suffix}`, raw.opsPerSecond, 'rows/s'));
        figures.push(
          figure(
            'eventstore',
            `append_single_c${concurrency}${suffix}`,
            subject.opsPerSecond,
            'appends/s',
            raw.opsPerSecond,
          ),
        );
        figures.push(
          figure('eventstore', `append_single_c${concurrency}${suffix}_p99`, subject.p99Ms, 'ms', raw.p99Ms),
        );
        return subject.opsPerSecond;
      });

    await single(1, '');
    const emptyLog = await single(8, '');
    const batch = await paired(8, () => baseline.nextBatchRun(10), append(10));
    figures.push(figure('eventstore', 'raw_insert10_c8', batch.baseline.opsPerSecond, 'statements/s'));
    figures.push(
      figure(
        'eventstore',
        'append_batch10_c8',
        batch.subject.opsPerSecond,
        'batches/s',
        batch.baseline.opsPerSecond,
      ),
    );
    figures.push(
      figure('eventstore', 'append_batch10_c8_events', batch.subject.opsPerSecond * 10, 'events/s'),
    );

    // The same comparison with FILL_EVENTS already stored in both tables.
    const filled = performance.now();
    await fillEvents(db.pool, 'es_events', FILL_EVENTS);
    await fillEvents(db.pool, 'bench_raw', FILL_EVENTS);
    await db.pool.query('checkpoint');
    figures.push(figure('eventstore', 'fill_seconds', (performance.now() - filled) / 1000, 's'));
    const fullLog = await single(8, '_1m');
    figures.push(figure('eventstore', 'append_single_c8_1m_vs_empty', fullLog, 'appends/s', emptyLog));

    // Catch-up: (the fill is usually more already) fill to >= CATCH_UP_EVENTS with 1 000-event appends,
    // then read everything from the start, and the raw table by keyset paging.
    const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from es_events');
    for (let have = Number(rows[0]!.n), s = 0; have < CATCH_UP_EVENTS; have += 1000, s++) {
      await store.append(
        `catchup-${s % 50}`,
        Array.from({ length: 1000 }, () => ({ id: randomUUID(), type: 'Benchmarked', data: benchPayload })),
      );
    }
    await db.pool.query('analyze es_events; analyze bench_raw');
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
