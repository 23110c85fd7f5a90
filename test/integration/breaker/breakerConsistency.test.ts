import { BreakerCommandService } from '../../../src/commands/breaker/breakerCommandService';
import { defaultBreakerPolicy } from '../../../src/domain/breaker';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { BreakerStateCache } from '../../../src/projections/breaker/breakerStateCache';
import { cbIncidentsProjection } from '../../../src/projections/breaker/cbIncidentsProjection';
import { cbStateProjection } from '../../../src/projections/breaker/cbStateProjection';
import { Projector } from '../../../src/projections/runtime/projector';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';
import { eventually } from '../../support/eventually';
import { startBreakerProjector } from '../../support/breakerProjector';

let db: TestDatabase;
let projector: Projector;
const policy = defaultBreakerPolicy;

beforeAll(async () => {
  db = await createTestDatabase();
  projector = startBreakerProjector(db);
});
afterAll(async () => {
  await projector.stop();
  await db.drop();
});

const drift = (score: number) => (now: Date, incidentId: string) =>
  ({ type: 'ReportDrift', drift_score: score, actor: 'test', incident_id: incidentId, now }) as const;

test('concurrent drift reports on one breaker from two replicas: every report stored, counter semantics exact', async () => {
  const replicas = [0, 1].map(() => new BreakerCommandService(new PostgresEventStore(db.pool), policy));
  const ref = { name: 'hot', tenantId: null };
  // 200 reports above the threshold, all at once, split over two replicas (each with its own queue).
  const outcomes = await Promise.all(
    Array.from({ length: 200 }, (_, i) => replicas[i % 2]!.execute(ref, drift(0.3))),
  );
  const { rows } = await db.pool.query<{ event_type: string; data: { failures_after?: number } }>(
    `select event_type, data from es_events where stream_name = 'breaker-hot' order by stream_version`,
  );
  expect(rows.filter((r) => r.event_type === 'DriftObserved')).toHaveLength(200);
  // Closed → 3 failures trip → open; while open nothing re-trips: exactly one trip.
  expect(rows.filter((r) => r.event_type === 'BreakerTripped')).toHaveLength(1);
  expect(outcomes.filter((o) => o.tripped)).toHaveLength(1);
  const counters = rows.filter((r) => r.event_type === 'DriftObserved').map((r) => r.data.failures_after);
  expect(counters.slice(0, 3)).toEqual([1, 2, 3]);
  expect(counters.slice(3).every((c) => c === 0)).toBe(true);
  // Versions reported to callers are distinct and match the stream.
  expect(new Set(outcomes.map((o) => o.version)).size).toBe(200);
});

test('the in-memory V2 gate reflects a committed command within a second; reads and rebuilds agree', async () => {
  const service = new BreakerCommandService(new PostgresEventStore(db.pool), policy);
  const cache = new BreakerStateCache(db.pool, policy, { pollMs: 200 });
  await cache.start();
  try {
    expect(cache.isV2Disabled('tenant-q')).toBe(false);
    await service.execute({ name: 'costsim_v2', tenantId: 'tenant-q' }, (now, incidentId) => ({
      type: 'DisableBreaker',
      reason: 'tenant incident',
      actor: 'ops',
      incident_id: incidentId,
      now,
    }));
    const committed = Date.now();
    await eventually(() => expect(cache.isV2Disabled('tenant-q')).toBe(true), 1000, 5);
    expect(Date.now() - committed).toBeLessThanOrEqual(1000);
    expect(cache.isV2Disabled('tenant-other')).toBe(false); // a tenant breaker only gates its tenant
    expect(cache.isV2Disabled(null)).toBe(false);

    await service.execute({ name: 'costsim_v2', tenantId: null }, (now, incidentId) => ({
      type: 'DisableBreaker',
      reason: 'global incident',
      actor: 'ops',
      incident_id: incidentId,
      now,
    }));
    await eventually(() => expect(cache.isV2Disabled('tenant-other')).toBe(true), 1000, 5);
  } finally {
    cache.stop();
  }

  // Read tables equal a from-scratch rebuild.
  await eventually(async () => {
    const { rows } = await db.pool.query<{ lag: string }>(
      `select count(*) as lag from es_events e, projection_checkpoints c
        where c.name = 'cb_state' and (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`,
    );
    expect(Number(rows[0]!.lag)).toBe(0);
  });
  await projector.stop();
  const snapshot = async () => ({
    // changed_tx records which transaction wrote a row: a rebuild rewrites every row, by design.
    state: (await db.pool.query('select * from cb_state order by name, tenant_key')).rows.map(
      ({ changed_tx: _changedBy, ...row }: Record<string, unknown>) => row,
    ),
    incidents: (await db.pool.query('select * from cb_incidents order by id')).rows,
  });
  const live = await snapshot();
  expect(live.state.length).toBeGreaterThanOrEqual(3);
  const store = new PostgresEventStore(db.pool);
  await rebuildProjection(db.pool, store, cbStateProjection);
  await rebuildProjection(db.pool, store, cbIncidentsProjection);
  expect(await snapshot()).toEqual(live);
});
