import { BreakerCommandService } from '../../../src/commands/breaker/breakerCommandService';
import { BreakerRecoveryWorker } from '../../../src/commands/breaker/breakerRecoveryWorker';
import { defaultBreakerPolicy } from '../../../src/domain/breaker';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { BreakerQueries } from '../../../src/projections/breaker/breakerQueries';
import { Projector } from '../../../src/projections/runtime/projector';
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

/** Three "replicas": each with its own command runner (own cache) and recovery worker. */
const replicas = () =>
  Array.from({ length: 3 }, () => {
    const service = new BreakerCommandService(new PostgresEventStore(db.pool), policy);
    const queries = new BreakerQueries(db.pool, policy);
    return { service, queries, worker: new BreakerRecoveryWorker(db.url, 7011, queries, service, 100) };
  });

async function eventTypes(stream: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ event_type: string }>(
    'select event_type from es_events where stream_name = $1 order by stream_version',
    [stream],
  );
  return rows.map((r) => r.event_type);
}

test('an expired TTL is recovered exactly once even when every replica sweeps at the same moment', async () => {
  const [a, b, c] = replicas();
  const ref = { name: 'ttl_race', tenantId: null };
  const until = new Date(Date.now() + 400);
  await a!.service.execute(ref, (now, incidentId) => ({
    type: 'DisableBreaker',
    reason: 'maintenance',
    actor: 'test',
    disabled_until: until,
    incident_id: incidentId,
    now,
  }));

  // Before the TTL: open. After it, reads say closed even though no recovery is written yet.
  expect(
    (
      await eventually(async () => {
        const view = await a!.queries.get('ttl_race', null);
        expect(view.open).toBe(true);
        return view;
      })
    ).disabled_until,
  ).toBe(until.toISOString());
  await new Promise((r) => setTimeout(r, until.getTime() - Date.now() + 50));
  const readBeforeRecovery = await a!.queries.get('ttl_race', null);
  expect(readBeforeRecovery.open).toBe(false);
  expect(readBeforeRecovery.version).toBe(1); // nothing written yet: the read path alone reports closed
  expect(await eventTypes('breaker-ttl_race')).toEqual(['BreakerTripped']);

  // All three sweep concurrently, bypassing the leader lock: only the stream version decides.
  const results = await Promise.all([a!.worker.sweep(), b!.worker.sweep(), c!.worker.sweep()]);
  expect(results.reduce((x, y) => x + y, 0)).toBe(1);
  expect(await eventTypes('breaker-ttl_race')).toEqual(['BreakerTripped', 'BreakerAutoRecovered']);
  // Sweeping again (read model may still lag) writes nothing more.
  await Promise.all([a!.worker.sweep(), b!.worker.sweep()]);
  expect(await eventTypes('breaker-ttl_race')).toEqual(['BreakerTripped', 'BreakerAutoRecovered']);

  const incident = await eventually(async () => {
    const { incidents } = await a!.queries.incidents('ttl_race', null, { includeResolved: true, limit: 10 });
    expect(incidents[0]?.resolved).toBe(true);
    return incidents[0]!;
  });
  expect(incident.resolved_by).toBe('system-auto-recover');
  expect(incident.resolution_notes).toBe('Auto-recovered after TTL expired');
});

test('the running recovery workers write the recovery within seconds of the TTL, once', async () => {
  const group = replicas();
  group.forEach((r) => r.worker.start());
  try {
    const ref = { name: 'ttl_workers', tenantId: 'tenant-z' };
    await group[1]!.service.execute(ref, (now, incidentId) => ({
      type: 'DisableBreaker',
      reason: 'short',
      actor: 'test',
      ttl_hours: 0.5 / 3600, // half a second
      incident_id: incidentId,
      now,
    }));
    await eventually(
      async () => expect(await eventTypes('breaker-ttl_workers@tenant-z')).toContain('BreakerAutoRecovered'),
      5000,
    );
    await new Promise((r) => setTimeout(r, 600)); // several more sweeps by every worker
    expect(await eventTypes('breaker-ttl_workers@tenant-z')).toEqual([
      'BreakerTripped',
      'BreakerAutoRecovered',
    ]);
  } finally {
    await Promise.all(group.map((r) => r.worker.stop()));
  }
});
