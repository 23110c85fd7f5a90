import {
  BREAKER_SNAPSHOT_SCHEMA,
  BreakerCommandService,
} from '../../../src/commands/breaker/breakerCommandService';
import { type BreakerEvent, createBreakerDecider, defaultBreakerPolicy } from '../../../src/domain/breaker';
import { foldEvents } from '../../../src/domain/decider';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { PostgresSnapshotStore } from '../../../src/infra/eventStore/postgresSnapshotStore';
import type { SnapshotStore } from '../../../src/infra/eventStore/snapshotStore';
import { eventually } from '../../support/eventually';
import { storedBeforeLaterCounters } from '../../support/olderBreakerState';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

let db: TestDatabase;
let snapshots: PostgresSnapshotStore;

beforeAll(async () => {
  db = await createTestDatabase();
  snapshots = new PostgresSnapshotStore(db.pool);
});
afterAll(async () => db.drop());

const policy = defaultBreakerPolicy;
const drift = (score: number) => (now: Date, incidentId: string) =>
  ({ type: 'ReportDrift', drift_score: score, actor: 'test', incident_id: incidentId, now }) as const;

/** A replica of the command side; `every` 0 = no snapshots. The store's readStream is spied on. */
function replica(every: number, store: SnapshotStore = snapshots, onError?: (err: unknown) => void) {
  const events = new PostgresEventStore(db.pool);
  const reads = jest.spyOn(events, 'readStream');
  const service = new BreakerCommandService(events, policy, {
    snapshots: { store, every, ...(onError ? { onError } : {}) },
  });
  return { service, reads };
}

/** Writes `n` drift reports (a trip among them, so the state is not trivial) through `service`. */
async function writeReports(service: BreakerCommandService, name: string, n: number): Promise<void> {
  const ref = { name, tenantId: null };
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, k) =>
        service.execute(ref, drift((i + k) % 7 === 0 ? 0.4 : 0.1)),
      ),
    );
  }
}

async function truth(name: string) {
  const stored = await new PostgresEventStore(db.pool).readStream(`breaker-${name}`);
  const state = foldEvents(
    createBreakerDecider(policy),
    stored.map((e) => ({ type: e.type, data: e.data }) as unknown as BreakerEvent),
  );
  return { state, version: stored.length };
}

test('a stream is snapshotted as it grows, and a cold replica reads only the events after the snapshot', async () => {
  const writer = replica(500);
  await writeReports(writer.service, 'snap_long', 1234);
  const snapshot = await eventually(async () => {
    const found = await snapshots.load<{ version: number }>('breaker-snap_long', BREAKER_SNAPSHOT_SCHEMA);
    expect(found?.version).toBeGreaterThanOrEqual(1000);
    return found!;
  });
  expect(snapshot.state.version).toBe(snapshot.version);

  // A replica that has never seen the stream: its first command starts from the snapshot.
  const cold = replica(500);
  const outcome = await cold.service.execute({ name: 'snap_long', tenantId: null }, drift(0.1));
  expect(cold.reads.mock.calls.map(([, options]) => options?.from)).toEqual([snapshot.version + 1]);
  expect(outcome.version).toBe(1235);
  const expected = await truth('snap_long');
  expect(expected.version).toBe(1235);
  expect(outcome.after).toEqual(expected.state);
});

test('a snapshot of another state schema is ignored: the stream is replayed from the start', async () => {
  const writer = replica(0);
  await writeReports(writer.service, 'snap_schema', 120);
  await snapshots.save('breaker-snap_schema', 'breaker-state/0', { version: 100, state: { bogus: true } });

  const cold = replica(500);
  const outcome = await cold.service.execute({ name: 'snap_schema', tenantId: null }, drift(0.1));
  expect(cold.reads.mock.calls.map(([, options]) => options?.from)).toEqual([1]);
  expect(outcome.after).toEqual((await truth('snap_schema')).state);
});

test('a snapshot of the state before the union (breaker-state/2) is ignored: the stream is replayed', async () => {
  expect(BREAKER_SNAPSHOT_SCHEMA).not.toBe('breaker-state/2');
  const writer = replica(0);
  await writeReports(writer.service, 'snap_v2', 120);
  // What older code could have stored: the flat state of its day, without the counters added later, and
  // (to prove it is not read) a drift counter the events do not have.
  const old = storedBeforeLaterCounters((await truth('snap_v2')).state);
  await snapshots.save('breaker-snap_v2', 'breaker-state/2', {
    version: 120,
    state: { ...old, consecutive_failures: 2 },
  });

  const cold = replica(500);
  const outcome = await cold.service.execute({ name: 'snap_v2', tenantId: null }, drift(0.1));
  expect(cold.reads.mock.calls.map(([, options]) => options?.from)).toEqual([1]);
  expect(outcome.after).toEqual((await truth('snap_v2')).state);
});

test('a failing snapshot store costs a replay, never a command', async () => {
  const errors: unknown[] = [];
  const broken: SnapshotStore = {
    load: () => Promise.reject(new Error('snapshot read failed')),
    save: () => Promise.reject(new Error('snapshot write failed')),
  };
  const writer = replica(10, broken, (err) => errors.push(err));
  await writeReports(writer.service, 'snap_broken', 60);
  const cold = replica(10, broken, (err) => errors.push(err));
  const outcome = await cold.service.execute({ name: 'snap_broken', tenantId: null }, drift(0.1));
  expect(outcome.version).toBe(61);
  expect(outcome.after).toEqual((await truth('snap_broken')).state);
  const messages = new Set(errors.map((e) => (e as Error).message));
  expect(messages).toEqual(new Set(['snapshot read failed', 'snapshot write failed']));
});

test('an older snapshot never replaces a newer one', async () => {
  await snapshots.save('breaker-snap_race', BREAKER_SNAPSHOT_SCHEMA, { version: 900, state: { v: 900 } });
  await snapshots.save('breaker-snap_race', BREAKER_SNAPSHOT_SCHEMA, { version: 400, state: { v: 400 } });
  expect(await snapshots.load('breaker-snap_race', BREAKER_SNAPSHOT_SCHEMA)).toEqual({
    version: 900,
    state: { v: 900 },
  });
  await snapshots.save('breaker-snap_race', BREAKER_SNAPSHOT_SCHEMA, { version: 1400, state: { v: 1400 } });
  expect((await snapshots.load('breaker-snap_race', BREAKER_SNAPSHOT_SCHEMA))?.version).toBe(1400);
});

test('without a snapshot a long stream is read in pages of 5 000 events, not in one result', async () => {
  const writer = replica(0);
  await writeReports(writer.service, 'snap_paged', 11_000);
  const cold = replica(0);
  const outcome = await cold.service.execute({ name: 'snap_paged', tenantId: null }, drift(0.1));
  expect(cold.reads.mock.calls.map(([, options]) => [options?.from, options?.limit])).toEqual([
    [1, 5000],
    [5001, 5000],
    [10_001, 5000],
  ]);
  expect(outcome.version).toBe(11_001);
  expect(outcome.after).toEqual((await truth('snap_paged')).state);
}, 30_000);
