import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { BreakerCommandService } from '../../../src/commands/breaker/breakerCommandService';
import {
  type BreakerCommand,
  breakerStreamName,
  createBreakerDecider,
  defaultBreakerPolicy,
  initialBreakerState,
} from '../../../src/domain/breaker';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { type GateStatus, BreakerStateCache } from '../../../src/projections/breaker/breakerStateCache';
import { projectionStatuses } from '../../../src/projections/runtime/lag';
import { startBreakerProjector } from '../../support/breakerProjector';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * The V2 gate is fed by the breaker's own events (docs/gate.md): it folds them with evolveBreaker, learns
 * its own replica's commands before they are answered, sees a commit at once even while an older
 * transaction is still open, and fails closed whenever it cannot trust what it holds.
 */
let db: TestDatabase;
let store: PostgresEventStore;
let commands: BreakerCommandService;
const caches: BreakerStateCache[] = [];
const BREAKERS = 500;
const policy = defaultBreakerPolicy;

const disable =
  (reason = 'test'): ((now: Date, incidentId: string) => BreakerCommand) =>
  (now, id) => ({
    type: 'DisableBreaker',
    reason,
    actor: 'ops',
    ttl_hours: 0,
    incident_id: id,
    now,
  });
const drift = (score: number) => (now: Date, incidentId: string) =>
  ({ type: 'ReportDrift', drift_score: score, actor: 'test', incident_id: incidentId, now }) as const;

function gate(options: Partial<ConstructorParameters<typeof BreakerStateCache>[2]> = {}) {
  const cache = new BreakerStateCache(db.pool, policy, { pollMs: 60_000, ...options });
  caches.push(cache);
  return cache;
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  commands = new BreakerCommandService(store, policy);
  for (let i = 1; i <= BREAKERS; i++) {
    await commands.execute({ name: 'costsim_v2', tenantId: `t${i}` }, drift(0.1));
  }
});
afterAll(async () => {
  for (const c of caches) c.stop();
  await db.drop();
});

describe('fed by events', () => {
  let cache: BreakerStateCache;
  beforeAll(async () => {
    cache = gate();
    expect(cache.isV2Disabled('t1')).toBe(true); // not loaded yet: closed for everyone
    await cache.start();
  });

  test('the first load reads every breaker; later refreshes read only the events since', async () => {
    expect(cache.lastRefreshRows).toBe(BREAKERS);
    expect(cache.all()).toHaveLength(BREAKERS);
    expect(cache.isV2Disabled('t7')).toBe(false);
    await commands.execute({ name: 'costsim_v2', tenantId: 't7' }, disable());
    await cache.reload();
    expect(cache.isV2Disabled('t7')).toBe(true);
    expect(cache.lastRefreshRows).toBeLessThan(10);
    expect(cache.isV2Disabled('t8')).toBe(false);
    expect(cache.all()).toHaveLength(BREAKERS);
  });

  test('an event written by a transaction that commits after a later one is not missed, and the later one is not held back', async () => {
    const late = new pg.Client({ connectionString: db.url });
    await late.connect();
    try {
      await late.query('begin');
      await late.query('select pg_current_xact_id()'); // takes its transaction id now: the lower one
      await commands.execute({ name: 'costsim_v2', tenantId: 't20' }, disable()); // later, committed first
      await cache.reload();
      // A commit-ordered reader (readAll) would wait for `late`; the gate must not.
      expect(cache.isV2Disabled('t20')).toBe(true);

      const [event] = createBreakerDecider(policy).decide(disable()(new Date(), 'lateIncident'), {
        ...initialBreakerState(),
        version: 1,
      });
      await late.query(`select * from es_append($1, 'exact', 1, $2::jsonb)`, [
        breakerStreamName('costsim_v2', 't10'),
        JSON.stringify([{ id: randomUUID(), type: event!.type, data: event!.data }]),
      ]);
      await cache.reload();
      expect(cache.isV2Disabled('t10')).toBe(false); // not committed yet
      await late.query('commit');
      await cache.reload();
      expect(cache.isV2Disabled('t10')).toBe(true);
    } finally {
      await late.end();
    }
  });

  test("a command of the gate's own replica is in the gate before the command is answered", async () => {
    const own = new BreakerCommandService(store, policy, {
      onCurrentState: (stream, state, version) => cache.learn(stream, state, version),
    });
    const outcome = await own.execute({ name: 'costsim_v2', tenantId: 't30' }, disable());
    // No read in between: learned from the command runner itself.
    expect(cache.isV2Disabled('t30')).toBe(true);
    expect(cache.snapshot('costsim_v2', 't30')?.version).toBe(outcome.version);
    await cache.reload(); // the same event read back from the store changes nothing
    expect(cache.snapshot('costsim_v2', 't30')?.version).toBe(outcome.version);
  });

  test('a new gate starts from cb_state and its checkpoint, then reads only the events past it', async () => {
    const projector = startBreakerProjector(db);
    try {
      await eventually(async () => {
        const cbState = (await projectionStatuses(db.pool)).find((p) => p.name === 'cb_state');
        expect(cbState?.lagEvents).toBe(0);
      });
    } finally {
      await projector.stop();
    }
    await commands.execute({ name: 'costsim_v2', tenantId: 't40' }, disable('after the projection'));
    const fresh = gate();
    await fresh.start();
    expect(fresh.lastRefreshRows).toBe(1); // the one event cb_state does not have yet
    expect(fresh.all()).toHaveLength(BREAKERS);
    for (const t of ['t7', 't10', 't20', 't30', 't40']) expect(fresh.isV2Disabled(t)).toBe(true);
    expect(fresh.isV2Disabled('t41')).toBe(false);
    await cache.reload();
    const versions = (c: BreakerStateCache) =>
      Object.fromEntries(c.all().map((b) => [b.tenant_id, b.state.version]));
    expect(versions(fresh)).toEqual(versions(cache));
  });
});

describe('fails closed', () => {
  test('while its reads have been failing for longer than its staleness limit, and says why', async () => {
    const changes: GateStatus[] = [];
    const cache = gate({ pollMs: 50, maxStalenessMs: 300, onTrustChange: (s) => void changes.push(s) });
    await cache.start();
    await eventually(() => expect(cache.isV2Disabled('t1')).toBe(false));
    // A migration-like lock: every read of es_events waits behind it.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table es_events in access exclusive mode');
      await eventually(() => expect(cache.isV2Disabled('t1')).toBe(true), 5000);
      const status = cache.status();
      expect(status.trusted).toBe(false);
      expect(status.reasons.join()).toMatch(/breaker events have not been read for [\d.]+ s \(limit 0.3 s\)/);
      await eventually(() => expect(changes.at(-1)?.trusted).toBe(false)); // logged by the watchdog
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    await eventually(() => expect(cache.isV2Disabled('t1')).toBe(false), 5000);
    expect(changes.at(-1)?.trusted).toBe(true);
  });

  test('when a breaker projection is recorded as failing, until it recovers', async () => {
    const cache = gate({ pollMs: 50 });
    await cache.start();
    expect(cache.isV2Disabled('t2')).toBe(false);
    const projector = startBreakerProjector(db);
    try {
      // An event cb_state cannot project (a disabled_until PostgreSQL cannot cast), written past every
      // check the way only a bug or a hand-made INSERT could.
      const [event] = createBreakerDecider(policy).decide(disable()(new Date(), 'poisonIncide'), {
        ...initialBreakerState(),
      });
      const poisonStream = breakerStreamName('poisoned', null);
      const { rows } = await db.pool.query<{ global_position: string }>(
        `select * from es_append($1, 'no_stream', null, $2::jsonb)`,
        [
          poisonStream,
          JSON.stringify([
            {
              id: randomUUID(),
              type: event!.type,
              data: { ...event!.data, disabled_until: '0000-01-01T00:00:00Z' },
            },
          ]),
        ],
      );
      expect(rows).toHaveLength(1);
      await eventually(async () => {
        expect(cache.status().reasons).toContain('breaker projection cb_state is failing');
      }, 10_000);
      expect(cache.isV2Disabled('t2')).toBe(true);
      expect(cache.isV2Disabled(null)).toBe(true);
      expect(cache.failingClosed).toBe(true);
      expect(cache.status().reasons.join()).not.toMatch(/date\/time|out of range|syntax/); // no database text

      // The projection recovers (here: the event is repaired by hand), the failure clears, trust returns.
      await db.pool.query(
        `update es_events set data = jsonb_set(data, '{disabled_until}', 'null') where stream_name = $1`,
        [poisonStream],
      );
      await eventually(() => expect(cache.isV2Disabled('t2')).toBe(false), 10_000);
    } finally {
      await projector.stop();
    }
  });

  test('when a breaker event cannot be folded', async () => {
    const cache = gate({ pollMs: 50 });
    await cache.start();
    expect(cache.isV2Disabled('t3')).toBe(false);
    // A breaker event whose data is not what evolveBreaker expects (a buggy or incompatible writer).
    const stream = breakerStreamName('unfoldable', null);
    await db.pool.query(`select * from es_append($1, 'no_stream', null, $2::jsonb)`, [
      stream,
      JSON.stringify([{ id: randomUUID(), type: 'BreakerTripped', data: null }]),
    ]);
    await eventually(() => expect(cache.isV2Disabled('t3')).toBe(true), 5000);
    expect(cache.status().reasons).toEqual(['events of 1 breaker(s) could not be applied']);
    expect(cache.status().detail.unfoldable).toMatchObject({ [stream]: { streamVersion: 1 } });
    // Every other breaker is still known; only trust is gone.
    expect(cache.isOpen('costsim_v2', 't7')).toBe(true);
    await db.pool.query(`delete from es_events where stream_name = $1`, [stream]);
  });
});
