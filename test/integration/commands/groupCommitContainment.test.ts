import {
  type BreakerCommand,
  type BreakerEvent,
  type BreakerState,
  createBreakerDecider,
  defaultBreakerPolicy,
} from '../../../src/domain/breaker';
import type { Decider } from '../../../src/domain/decider';
import { CommandNotStoredError, DeciderCommandRunner } from '../../../src/commands/deciderCommandRunner';
import { commandErrorToProblem } from '../../../src/commands/commandErrors';
import type { AppendOptions, EventStore, NewEvent } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * A bad command fails alone (issue #8 point 6): a group commit whose append PostgreSQL refuses is retried
 * in smaller groups down to one command, so only the bad command gets the error and every other drift
 * observation of the batch is stored. The bad command here is one validation cannot produce any more: a
 * decider that lets a U+0000 through into an event, as a bug would.
 */
let db: TestDatabase;
let store: EventStore;
/** Sizes of every append the runner attempted (the real store behind: it still does the work). */
const attempts: number[] = [];

type Poisonable = BreakerCommand & { poison?: boolean };

const breaker = createBreakerDecider(defaultBreakerPolicy);
const leaky: Decider<Poisonable, BreakerEvent, BreakerState> = {
  ...breaker,
  decide(command, state) {
    const events = breaker.decide(command, state);
    if (!command.poison) return events;
    return events.map((e) =>
      e.type === 'DriftObserved' ? { ...e, data: { ...e.data, details: { run_id: 'run\u0000x' } } } : e,
    );
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  const real = new PostgresEventStore(db.pool);
  store = {
    ...real,
    readStream: real.readStream.bind(real),
    streamVersion: real.streamVersion.bind(real),
    readAll: real.readAll.bind(real),
    readNewer: real.readNewer.bind(real),
    subscribe: real.subscribe.bind(real),
    head: real.head.bind(real),
    checkpointOf: real.checkpointOf.bind(real),
    // Counts every append, with or without a caller's transaction (both overloads pass through).
    append: ((stream: string, events: readonly NewEvent[], options?: AppendOptions) => {
      attempts.push(events.length);
      return real.append(stream, events, options);
    }) as EventStore['append'],
  };
});
afterAll(async () => db.drop());

const drift =
  (score: number, poison = false) =>
  (now: Date) =>
    ({
      type: 'ReportDrift',
      drift_score: score,
      actor: 'sandbox',
      incident_id: 'inc-00000001',
      now,
      ...(poison ? { poison: true } : {}),
    }) as Poisonable;

async function runTogether(stream: string, poisonAt: readonly number[], total: number) {
  const runner = new DeciderCommandRunner(store, leaky);
  // All queued in one turn of the event loop: one batch, one append attempt.
  const settled = await Promise.allSettled(
    Array.from({ length: total }, (_, i) => runner.run(stream, drift(0.3, poisonAt.includes(i)))),
  );
  const { rows } = await db.pool.query<{
    stream_version: string;
    event_type: string;
    data: BreakerEvent['data'];
  }>(
    'select stream_version, event_type, data from es_events where stream_name = $1 order by stream_version',
    [stream],
  );
  return { settled, rows };
}

test('one poisoned drift report among 16 good ones: only it fails, all 16 are stored in order', async () => {
  attempts.length = 0;
  const { settled, rows } = await runTogether('breaker-contain-one', [7], 17);
  expect(attempts[0]).toBeGreaterThanOrEqual(17); // the whole batch was tried at once first

  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [[i, s.reason as unknown]] : []));
  expect(failed.map(([i]) => i)).toEqual([7]);
  const error = failed[0]![1];
  expect(error).toBeInstanceOf(CommandNotStoredError);
  expect((error as Error).message).not.toMatch(/unicode|escape|jsonb|sequence|\\u0000/i); // no database text
  expect((error as CommandNotStoredError).cause).toHaveProperty('code'); // the database error, for the log
  // The HTTP layer answers it as a bare 500 with a request id (no mapper claims it).
  expect(commandErrorToProblem(error)).toBeNull();

  const observed = rows.filter((r) => r.event_type === 'DriftObserved');
  expect(observed).toHaveLength(16);
  expect(rows.map((r) => Number(r.stream_version))).toEqual(rows.map((_, i) => i + 1));
  // Decided again in order on the state the good ones built: three failures trip, then it stays open.
  expect(rows.map((r) => r.event_type).slice(0, 4)).toEqual([
    'DriftObserved',
    'DriftObserved',
    'DriftObserved',
    'BreakerTripped',
  ]);
  expect(rows.filter((r) => r.event_type === 'BreakerTripped')).toHaveLength(1);
  for (const s of settled)
    if (s.status === 'fulfilled') expect(s.value.version).toBeLessThanOrEqual(rows.length);
});

test('several poisoned commands in a batch of 60: each fails alone, the 57 others land', async () => {
  const poison = [0, 31, 59];
  const { settled, rows } = await runTogether('breaker-contain-many', poison, 60);
  expect(settled.flatMap((s, i) => (s.status === 'rejected' ? [i] : []))).toEqual(poison);
  for (const i of poison)
    expect((settled[i] as PromiseRejectedResult).reason).toBeInstanceOf(CommandNotStoredError);
  expect(rows.filter((r) => r.event_type === 'DriftObserved')).toHaveLength(57);
  const versions = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.version] : []));
  expect(new Set(versions).size).toBe(57);
});
