import { randomUUID } from 'node:crypto';
import { type BreakerCommand, createBreakerDecider, defaultBreakerPolicy } from '../../../src/domain/breaker';
import { DeciderCommandRunner } from '../../../src/commands/deciderCommandRunner';
import type { StreamAppend } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';

/**
 * DeciderCommandRunner.runWith: a command and its companion events (new streams) in the batch's one
 * append; the two outcomes are independent — a command the decider refuses still has its companions
 * stored, a companion the database refuses costs neither its command nor the batch's other jobs.
 */
let db: TestDatabase;
let store: PostgresEventStore;
beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

const drift =
  (score: number) =>
  (now: Date): BreakerCommand => ({
    type: 'ReportDrift',
    drift_score: score,
    actor: 'sandbox',
    incident_id: 'inc-00000001',
    now,
  });
const companion = (data: object): StreamAppend => ({
  stream: `companion-${randomUUID()}`,
  events: [{ type: 'Companion', data }],
});

async function typesIn(streams: readonly string[]) {
  const { rows } = await db.pool.query<{ stream_name: string; event_type: string }>(
    'select stream_name, event_type from es_events where stream_name = any($1) order by global_position',
    [streams],
  );
  return rows;
}

test('no companions: the command is answered, the companions outcome is stored', async () => {
  const runner = new DeciderCommandRunner(store, createBreakerDecider(defaultBreakerPolicy));
  const result = await runner.runWith(`breaker-rw-${randomUUID()}`, drift(0.1), []);
  expect(result.command.status).toBe('fulfilled');
  expect(result.companions).toEqual({ status: 'fulfilled', value: undefined });
});

test('a command the decider refuses still has its companions stored', async () => {
  const runner = new DeciderCommandRunner(store, createBreakerDecider(defaultBreakerPolicy));
  const stream = `breaker-rw-${randomUUID()}`;
  const [bad, good] = [companion({ n: 1 }), companion({ n: 2 })];
  const [refused, accepted] = await Promise.all([
    runner.runWith(stream, drift(7), [bad]), // drift_score outside [0, 1]
    runner.runWith(stream, drift(0.1), [good]),
  ]);
  expect(refused.command.status).toBe('rejected');
  expect(refused.companions.status).toBe('fulfilled');
  expect(accepted.command.status).toBe('fulfilled');
  expect(accepted.companions.status).toBe('fulfilled');
  expect((await typesIn([stream, bad.stream, good.stream])).map((r) => r.event_type).sort()).toEqual([
    'Companion',
    'Companion',
    'DriftObserved',
  ]);
});

test('a companion the database refuses fails alone: its command and every other job are stored', async () => {
  const runner = new DeciderCommandRunner(store, createBreakerDecider(defaultBreakerPolicy));
  const stream = `breaker-rw-${randomUUID()}`;
  const companions = Array.from({ length: 10 }, (_, i) =>
    companion(i === 6 ? { text: 'nul\u0000' } : { n: i }),
  );
  const results = await Promise.all(companions.map((c) => runner.runWith(stream, drift(0.1), [c])));
  expect(results.map((r) => r.command.status)).toEqual(Array(10).fill('fulfilled'));
  expect(results.map((r) => r.companions.status === 'fulfilled')).toEqual(companions.map((_, i) => i !== 6));
  expect(results[6]!.companions).toMatchObject({ status: 'rejected', reason: { code: expect.any(String) } }); // the database's error, for the log
  const rows = await typesIn([stream, ...companions.map((c) => c.stream)]);
  expect(rows.filter((r) => r.stream_name === stream)).toHaveLength(10);
  expect(rows.filter((r) => r.event_type === 'Companion').map((r) => r.stream_name)).toEqual(
    companions.filter((_, i) => i !== 6).map((c) => c.stream),
  );
});
