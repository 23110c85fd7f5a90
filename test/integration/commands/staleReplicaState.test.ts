import { PreconditionFailedError } from '../../../src/commands/deciderCommandRunner';
import { BreakerCommandService } from '../../../src/commands/breaker/breakerCommandService';
import { defaultBreakerPolicy } from '../../../src/domain/breaker';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Each replica's command runner keeps the states it has decided on and appends against them without
 * reading the stream first. These tests make one replica's cached state stale through another replica and
 * show that every kind of answer (a change, a no-op, a rejected If-Match) is given on the current state.
 */
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const replica = () => new BreakerCommandService(new PostgresEventStore(db.pool), defaultBreakerPolicy);
const disable = (reason: string) => (now: Date, incidentId: string) =>
  ({ type: 'DisableBreaker', reason, actor: 'ops', incident_id: incidentId, now }) as const;
const enable = () => (now: Date) => ({ type: 'EnableBreaker', actor: 'ops', now }) as const;

test('a no-op answer is never given on a stale cached state', async () => {
  const [a, b] = [replica(), replica()];
  const ref = { name: 'stale_noop', tenantId: null };
  await a.execute(ref, disable('first'));
  await a.execute(ref, enable()); // a now caches: closed, version 2
  await b.execute(ref, disable('second')); // the stream moves on behind a's back: open, version 3

  // On a's cache, enable would be a no-op (closed already); on the stream it closes the breaker.
  const outcome = await a.execute(ref, enable());
  expect(outcome.changed).toBe(true);
  expect(outcome.version).toBe(4);
  expect(outcome.after.open).toBe(false);
});

test('an append on a stale cached state is decided again on the current one', async () => {
  const [a, b] = [replica(), replica()];
  const ref = { name: 'stale_append', tenantId: null };
  await a.execute(ref, disable('first')); // a caches: open, version 1
  await b.execute(ref, enable()); // closed, version 2

  // On a's cache this is an amendment of an open breaker; on the stream it opens a new incident.
  const outcome = await a.execute(ref, disable('again'));
  expect(outcome.version).toBe(3);
  expect(outcome.events.map((e) => e.type)).toEqual(['BreakerTripped']);
  const { rows } = await db.pool.query<{ stream_version: string; event_type: string }>(
    `select stream_version, event_type from es_events where stream_name = 'breaker-stale_append'
      order by stream_version`,
  );
  expect(rows.map((r) => [Number(r.stream_version), r.event_type])).toEqual([
    [1, 'BreakerTripped'],
    [2, 'BreakerEnabled'],
    [3, 'BreakerTripped'],
  ]);
});

test('If-Match is checked against the current version, not a stale cached one', async () => {
  const [a, b] = [replica(), replica()];
  const ref = { name: 'stale_if_match', tenantId: null };
  await a.execute(ref, disable('first')); // a caches version 1
  await b.execute(ref, disable('amended')); // version 2

  // The caller saw version 2 (from b): a must accept it although its cache says 1 ...
  const accepted = await a.execute(ref, enable(), { ifMatch: 2 });
  expect(accepted.version).toBe(3);
  // ... and reject version 1, which its cache would have accepted before the refresh above.
  await b.execute(ref, disable('once more')); // version 4, a still caches 3
  const rejected = await a.execute(ref, enable(), { ifMatch: 3 }).catch((e: unknown) => e);
  expect(rejected).toBeInstanceOf(PreconditionFailedError);
  expect((rejected as PreconditionFailedError).actual).toBe(4);
});
