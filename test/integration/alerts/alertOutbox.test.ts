import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertDeliveryWorker } from '../../../src/commands/alerts/alertDeliveryWorker';
import { BreakerCommandService } from '../../../src/commands/breaker/breakerCommandService';
import { defaultBreakerPolicy } from '../../../src/domain/breaker';
import { AlertmanagerClient } from '../../../src/infra/alertmanager/alertmanagerClient';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import type { AlertsRetried } from '../../../src/domain/alerts/alertDeliveryEvents';
import { alertQueueProjection, applyAdminAction } from '../../../src/projections/alerts/alertQueueProjection';
import { cbIncidentsProjection } from '../../../src/projections/breaker/cbIncidentsProjection';
import { Projector } from '../../../src/projections/runtime/projector';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * The alert outbox with several workers at once. Alertmanager itself cannot say how many times it was sent
 * an alert, so the targets here are recording HTTP endpoints (and fault injectors); the same path against
 * the real Alertmanager is test/e2e/alerts/alertDelivery.test.ts.
 */
jest.setTimeout(60_000);

let db: TestDatabase;
let store: PostgresEventStore;
let projector: Projector;
const servers: Server[] = [];
const source = {
  instance: 'outbox-test',
  publicUrl: 'http://costsim.test',
  runbookUrl: 'http://runbook.test',
};

interface Endpoint {
  url: string;
  /** incident ids of the firing alerts received, one entry per request */
  received: string[];
  status: number;
}

async function endpoint(status = 200): Promise<Endpoint> {
  const ep: Endpoint = { url: '', received: [], status };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const alerts = JSON.parse(body) as Array<{ annotations: { incident_id?: string } }>;
      for (const a of alerts) ep.received.push(a.annotations.incident_id ?? '?');
      res.writeHead(ep.status, { 'content-type': 'application/json' });
      res.end(ep.status === 200 ? '' : JSON.stringify({ error: `injected ${ep.status}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  ep.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return ep;
}

const client = new AlertmanagerClient({ timeoutMs: 2000 });
const worker = (targets: string[], id: string, clock?: () => Date) =>
  new AlertDeliveryWorker({
    pool: db.pool,
    store,
    sender: client,
    targets,
    source,
    resendIntervalSeconds: 60,
    workerId: id,
    batchSize: 5,
    ...(clock ? { clock } : {}),
  });

const commands = () => new BreakerCommandService(new PostgresEventStore(db.pool), defaultBreakerPolicy);
const trip = (service: BreakerCommandService, name: string) =>
  service.execute({ name, tenantId: null }, (now, incidentId) => ({
    type: 'DisableBreaker',
    reason: `trip ${name}`,
    actor: 'test',
    incident_id: incidentId,
    now,
  }));

async function rows(prefix: string) {
  const { rows: found } = await db.pool.query<{
    id: string;
    target: string | null;
    status: string;
    attempts: number;
    max_attempts: number;
    last_error: string | null;
    payload: unknown;
  }>(
    `select id, target, status, attempts, max_attempts, last_error, payload from alert_queue
      where circuit_breaker_name like $1 order by id`,
    [`${prefix}%`],
  );
  return found;
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [alertQueueProjection, cbIncidentsProjection],
    lockId: 7010,
    pollMs: 20,
  });
  projector.start();
});
afterAll(async () => {
  await projector.stop();
  await client.close();
  for (const s of servers) await new Promise((r) => s.close(r));
  await db.drop();
});

test('three workers, two Alertmanagers, 30 incidents: every alert reaches every target exactly once', async () => {
  const [a, b] = [await endpoint(), await endpoint()];
  const service = commands();
  const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => trip(service, `many_${i}`)));
  const incidents = outcomes.map((o) => o.incident_id!).sort();
  await eventually(async () => expect((await rows('many_')).length).toBe(30)); // projected intents

  const workers = ['w1', 'w2', 'w3'].map((id) => worker([a.url, b.url], id));
  await Promise.all(workers.map((w) => w.pass()));
  await Promise.all(workers.map((w) => w.pass())); // nothing left: a second pass sends nothing

  expect([...a.received].sort()).toEqual(incidents);
  expect([...b.received].sort()).toEqual(incidents);
  const queued = await rows('many_');
  expect(queued).toHaveLength(60);
  expect(queued.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  expect(queued.every((r) => Array.isArray(r.payload) && r.payload.length === 1)).toBe(true);
  const { rows: events } = await db.pool.query<{ n: number; distinct_rows: number }>(
    `select count(*)::int as n, count(distinct data->>'row_id')::int as distinct_rows
       from es_events where event_type = 'AlertDelivered'`,
  );
  expect(events[0]).toEqual({ n: 60, distinct_rows: 60 });
  await eventually(async () => {
    const { rows: sent } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from cb_incidents where breaker like 'many_%' and alert_sent`,
    );
    expect(sent[0]!.n).toBe(30);
  });

  // A rebuild of the queue from events knows what was sent: nothing goes out again.
  const before = await rows('many_');
  await rebuildProjection(db.pool, store, alertQueueProjection);
  expect(await rows('many_')).toEqual(before);
  await worker([a.url, b.url], 'w4').pass();
  expect(a.received).toHaveLength(30);
  expect(b.received).toHaveLength(30);
});

test('a rejected alert fails at once; a failing Alertmanager is retried with back-off until max_attempts', async () => {
  const rejecting = await endpoint(400);
  const flaky = await endpoint(503);
  const service = commands();
  await trip(service, 'fail_a');
  await eventually(async () => expect((await rows('fail_a')).length).toBe(1));

  let now = Date.now();
  const clock = () => new Date(now);
  const w = worker([rejecting.url, flaky.url], 'wf', clock);
  await w.pass();
  const byTarget = async () => new Map((await rows('fail_a')).map((r) => [r.target, r]));
  let found = await byTarget();
  expect(found.get(rejecting.url)).toMatchObject({ status: 'failed', attempts: 1 });
  expect(found.get(flaky.url)).toMatchObject({ status: 'pending', attempts: 1 });
  expect(found.get(rejecting.url)!.last_error).toMatch(/^HTTP 400: /);
  expect(found.get(flaky.url)!.last_error).toMatch(/^HTTP 503: /);

  // Not due before its back-off (2 s after attempt 1): a pass now sends nothing.
  await w.pass();
  expect(flaky.received).toHaveLength(1);
  // Advance the worker's clock past each back-off (2, 4, 8 ... s): attempts 2..10, then failed.
  for (let i = 2; i <= 10; i++) {
    now += 301_000;
    await w.pass();
  }
  found = await byTarget();
  expect(found.get(flaky.url)).toMatchObject({ status: 'failed', attempts: 10, max_attempts: 10 });
  expect(flaky.received).toHaveLength(10);
  now += 301_000;
  await w.pass();
  expect(flaky.received).toHaveLength(10); // failed rows are not sent again until retried
});

test('with no Alertmanager configured, alerts stay queued (pending, no target) and are never marked sent', async () => {
  const service = commands();
  await trip(service, 'nowhere');
  await eventually(async () => expect((await rows('nowhere')).length).toBe(1));
  await worker([], 'w0').pass();
  expect((await rows('nowhere')).map((r) => [r.target, r.status, r.attempts])).toEqual([
    [null, 'pending', 0],
  ]);
});

test('an operator retry applied again (the projector after the route) does not re-queue a row that failed since', async () => {
  const rejecting = await endpoint(400);
  const incident = (await trip(commands(), 'retry_twice')).incident_id!;
  await eventually(async () => expect((await rows('retry_twice')).length).toBe(1));
  const w = worker([rejecting.url], 'wr');
  await w.pass();
  const [failed] = await rows('retry_twice');
  expect(failed).toMatchObject({ status: 'failed', attempts: 1, max_attempts: 10 });

  const retried: AlertsRetried = {
    type: 'AlertsRetried',
    data: {
      rows: [{ id: failed!.id, max_attempts: 12 }],
      extra_attempts: 2,
      actor: 'test',
      at: new Date().toISOString(),
    },
  };
  expect(await applyAdminAction(db.pool, retried)).toBe(1); // as the route applies it
  await w.pass(); // retried at once, rejected again
  expect((await rows('retry_twice'))[0]).toMatchObject({ status: 'failed', attempts: 2, max_attempts: 12 });
  expect(await applyAdminAction(db.pool, retried)).toBe(0); // as the projector applies it later
  expect((await rows('retry_twice'))[0]).toMatchObject({ status: 'failed', attempts: 2, max_attempts: 12 });
  // (other tests' unrouted intents may reach this endpoint too: count this incident's sends)
  expect(rejecting.received.filter((id) => id === incident)).toHaveLength(2);
});

test('rows claimed by a worker that died are sent by another once the lease has passed', async () => {
  const target = await endpoint();
  const incident = (await trip(commands(), 'dead_claim')).incident_id!;
  await eventually(async () => expect((await rows('dead_claim')).length).toBe(1));
  let now = Date.now();
  const w = worker([target.url], 'survivor', () => new Date(now));
  // Route only (no target is due yet in the worker's time), then a dead worker's claim on the row.
  await db.pool.query(
    `update alert_queue set next_attempt_at = $1 where circuit_breaker_name = 'dead_claim'`,
    [new Date(now + 3_600_000)],
  );
  await w.pass();
  const [routed] = await rows('dead_claim');
  expect(routed).toMatchObject({ target: target.url, status: 'pending', attempts: 0 });
  await db.pool.query(
    `update alert_queue set next_attempt_at = $2, claimed_by = 'dead', claimed_until = $3 where id = $1`,
    [routed!.id, new Date(now), new Date(now + 30_000)],
  );
  await w.pass(); // still leased to the dead worker
  expect(target.received.filter((id) => id === incident)).toHaveLength(0);
  now += 31_000;
  await w.pass();
  expect(target.received.filter((id) => id === incident)).toHaveLength(1);
  expect((await rows('dead_claim'))[0]).toMatchObject({ status: 'sent', attempts: 1 });
});
