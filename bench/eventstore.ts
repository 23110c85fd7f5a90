import { randomUUID } from 'node:crypto';
import { benchPayload, createRawInsertBaseline } from './rawInsertBaseline';
import { PostgresEventStore } from '../src/infra/eventStore/postgresEventStore';
import { type Checkpoint, START } from '../src/infra/eventStore/eventStore';
import { type Figure, createBenchDatabase, figure, measureThroughput, printFigures } from './harness';

/**
 * Event-store throughput against a raw single-row INSERT into a table of the same shape, at the same
 * concurrency, measured in the same run. Targets (issue 2): appends at concurrency 8 >= 0.5 x raw INSERT;
 * catch-up readAll >= 50 000 events/s.
 */
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const CATCH_UP_EVENTS = Number(process.env.BENCH_CATCH_UP_EVENTS ?? 200_000);

export async function run(): Promise<Figure[]> {
  const db = await createBenchDatabase(16);
  const store = new PostgresEventStore(db.pool);
  const figures: Figure[] = [];
  try {
    const baseline = await createRawInsertBaseline(db.pool);
    const append = (prefix: string, size: number) => (worker: number) =>
      store
        .append(
          `${prefix}-${worker}`,
          Array.from({ length: size }, () => ({ type: 'Benchmarked', data: benchPayload })),
          { expected: 'any' },
        )
        .then(() => undefined);

    for (const concurrency of [1, 8]) {
      const raw = await measureThroughput(concurrency, DURATION_MS, baseline.nextRun());
      const appends = await measureThroughput(concurrency, DURATION_MS, append(`single-c${concurrency}`, 1));
      figures.push(figure('eventstore', `raw_insert_c${concurrency}`, raw.opsPerSecond, 'rows/s'));
      figures.push(
        figure(
          'eventstore',
          `append_single_c${concurrency}`,
          appends.opsPerSecond,
          'appends/s',
          raw.opsPerSecond,
        ),
      );
      figures.push(figure('eventstore', `append_single_c${concurrency}_p99`, appends.p99Ms, 'ms', raw.p99Ms));
      if (concurrency === 8) {
        const batch = await measureThroughput(8, DURATION_MS, append('batch10', 10));
        figures.push(
          figure('eventstore', 'append_batch10_c8', batch.opsPerSecond, 'batches/s', raw.opsPerSecond),
        );
        figures.push(figure('eventstore', 'append_batch10_c8_events', batch.opsPerSecond * 10, 'events/s'));
      }
    }

    // Catch-up: fill to >= CATCH_UP_EVENTS with 1 000-event appends, then read everything from the start.
    const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from es_events');
    for (let have = Number(rows[0]!.n), s = 0; have < CATCH_UP_EVENTS; have += 1000, s++) {
      await store.append(
        `catchup-${s % 50}`,
        Array.from({ length: 1000 }, () => ({ id: randomUUID(), type: 'Benchmarked', data: benchPayload })),
      );
    }
    await db.pool.query('analyze es_events; analyze bench_raw');
    await db.pool.query(
      `insert into bench_raw (event_id, stream_name, stream_version, event_type, data)
       select gen_random_uuid(), 'raw-fill', g + 1000000, 'Benchmarked', $1::jsonb from generate_series(1, $2) g`,
      [JSON.stringify(benchPayload), CATCH_UP_EVENTS],
    );
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
