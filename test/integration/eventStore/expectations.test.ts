import { randomUUID } from 'node:crypto';
import { firstValueFrom, take, toArray } from 'rxjs';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import {
  IdempotencyConflictError,
  START,
  WrongExpectedVersionError,
} from '../../../src/infra/eventStore/eventStore';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';
import { eventually } from '../../support/eventually';

let db: TestDatabase;
let store: PostgresEventStore;
const ev = (type = 'Something', data: object = { n: 1 }) => ({ type, data });

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

const stream = () => `test-${randomUUID()}`;

describe('append expectations', () => {
  test("'any' creates a stream and appends to an existing one", async () => {
    const s = stream();
    expect((await store.append(s, [ev(), ev()], { expected: 'any' })).nextExpectedVersion).toBe(2);
    expect((await store.append(s, [ev()], { expected: 'any' })).nextExpectedVersion).toBe(3);
    expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
  });

  test("'no_stream' succeeds on a new stream and fails once the stream exists", async () => {
    const s = stream();
    await store.append(s, [ev()], { expected: 'no_stream' });
    const err = await store.append(s, [ev()], { expected: 'no_stream' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongExpectedVersionError);
    expect((err as WrongExpectedVersionError).actual).toBe(1);
    expect(await store.streamVersion(s)).toBe(1);
  });

  test("'stream_exists' fails on a missing stream and succeeds on an existing one", async () => {
    const s = stream();
    await expect(store.append(s, [ev()], { expected: 'stream_exists' })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    expect(await store.readStream(s)).toHaveLength(0);
    await store.append(s, [ev()]);
    expect((await store.append(s, [ev()], { expected: 'stream_exists' })).nextExpectedVersion).toBe(2);
  });

  test('an exact version must match the current stream version; 0 means no stream', async () => {
    const s = stream();
    await expect(store.append(s, [ev()], { expected: 1 })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect((await store.append(s, [ev()], { expected: 0 })).nextExpectedVersion).toBe(1);
    await expect(store.append(s, [ev()], { expected: 0 })).rejects.toMatchObject({ actual: 1 });
    await expect(store.append(s, [ev()], { expected: 2 })).rejects.toMatchObject({ actual: 1, expected: 2 });
    expect((await store.append(s, [ev(), ev()], { expected: 1 })).nextExpectedVersion).toBe(3);
    expect(await store.streamVersion(s)).toBe(3);
  });

  test('concurrent appends at the same expected version: exactly one wins', async () => {
    const s = stream();
    await store.append(s, [ev()]);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => store.append(s, [ev()], { expected: 1 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof WrongExpectedVersionError),
    ).toHaveLength(9);
    expect(await store.streamVersion(s)).toBe(2);
  });

  test('an empty append only checks the expectation', async () => {
    const s = stream();
    await expect(store.append(s, [], { expected: 'stream_exists' })).rejects.toBeInstanceOf(
      WrongExpectedVersionError,
    );
    expect((await store.append(s, [], { expected: 'no_stream' })).nextExpectedVersion).toBe(0);
  });
});

describe('idempotent re-append by event id', () => {
  test('re-appending the same ids returns the stored result and writes nothing', async () => {
    const s = stream();
    const events = [
      { id: randomUUID(), ...ev('A') },
      { id: randomUUID(), ...ev('B') },
    ];
    const first = await store.append(s, events, { expected: 'no_stream' });
    // Even with an expectation that would now fail, a duplicate is recognised first.
    const again = await store.append(s, events, { expected: 'no_stream' });
    expect(again.alreadyStored).toBe(true);
    expect(again.positions).toEqual(first.positions);
    expect(again.nextExpectedVersion).toBe(2);
    expect(await store.readStream(s)).toHaveLength(2);
  });

  test('concurrent re-appends of one id store it once', async () => {
    const s = stream();
    const event = { id: randomUUID(), ...ev() };
    const results = await Promise.all(Array.from({ length: 8 }, () => store.append(s, [event])));
    expect(results.filter((r) => !r.alreadyStored)).toHaveLength(1);
    expect(new Set(results.map((r) => r.positions[0]?.globalPosition)).size).toBe(1);
    expect(await store.readStream(s)).toHaveLength(1);
  });

  test('a batch that is only partly stored is a conflict, not a silent partial write', async () => {
    const s = stream();
    const a = { id: randomUUID(), ...ev('A') };
    await store.append(s, [a]);
    await expect(store.append(s, [a, { id: randomUUID(), ...ev('B') }])).rejects.toBeInstanceOf(
      IdempotencyConflictError,
    );
    await expect(store.append(stream(), [a])).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await store.readStream(s)).toHaveLength(1);
  });
});

describe('reads', () => {
  test('readStream honours from, until and limit', async () => {
    const s = stream();
    await store.append(s, [ev(), ev()]);
    const [, second] = await store.readStream(s);
    await new Promise((r) => setTimeout(r, 20));
    await store.append(s, [ev()]);
    expect((await store.readStream(s, { from: 2 })).map((e) => e.streamVersion)).toEqual([2, 3]);
    expect((await store.readStream(s, { until: second!.recordedAt })).map((e) => e.streamVersion)).toEqual([
      1, 2,
    ]);
    expect((await store.readStream(s, { limit: 1 })).map((e) => e.streamVersion)).toEqual([1]);
  });

  test('readAll pages through commit order and filters by type while still advancing', async () => {
    const s = stream();
    await store.append(s, [ev('Keep'), ev('Skip'), ev('Keep')]);
    const seen = await eventually(async () => {
      let cursor = START;
      const found: string[] = [];
      for (;;) {
        const page = await store.readAll({ after: cursor, limit: 2, types: ['Keep'] });
        if (page.checkpoint === cursor) break;
        found.push(...page.events.filter((e) => e.streamName === s).map((e) => e.type));
        cursor = page.checkpoint;
      }
      expect(found).toEqual(['Keep', 'Keep']);
      return found;
    });
    expect(seen).toEqual(['Keep', 'Keep']);
  });

  test('subscribe with manual ack reads the next batch only after ack', async () => {
    const s = stream();
    await store.append(s, [ev(), ev(), ev()]);
    const acks: Array<() => void> = [];
    const batches: number[] = [];
    const sub = store
      .subscribe({ after: START, limit: 1, ack: 'manual', pollIntervalMs: 20 })
      .subscribe((b) => {
        batches.push(b.events.length);
        acks.push(() => b.ack());
      });
    await eventually(() => expect(batches.length).toBe(1));
    await new Promise((r) => setTimeout(r, 150));
    expect(batches.length).toBe(1); // not acked: no further read
    acks[0]!();
    await eventually(() => expect(batches.length).toBe(2));
    sub.unsubscribe();
  });

  test('subscribe in auto mode delivers events appended later', async () => {
    const s = stream();
    const seen = firstValueFrom(
      store
        .subscribe({ after: START, limit: 100, pollIntervalMs: 20, types: ['Late'] })
        .pipe(take(1), toArray()),
    );
    await store.append(s, [ev('Late')]);
    const [batch] = await seen;
    expect(batch!.events.some((e) => e.streamName === s)).toBe(true);
  });
});
