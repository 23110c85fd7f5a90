import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertDeliveryWorker } from '../../../src/commands/alerts/alertDeliveryWorker';
import { purgeAlerts, retryFailedAlerts } from '../../../src/commands/alerts/alertAdminCommands';
import { BreakerCommandService } from '../../../src/commands/breaker/breakerCommandService';
import { defaultBreakerPolicy } from '../../../src/domain/breaker';
import { AlertmanagerClient } from '../../../src/infra/alertmanager/alertmanagerClient';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { AlertQueries } from '../../../src/projections/alerts/alertQueries';
import { alertQueueProjection } from '../../../src/projections/alerts/alertQueueProjection';
import { Projector } from '../../../src/projections/runtime/projector';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * One writer per read-model row (issue #9): routing, delivery outcomes and operator actions reach
 * alert_queue through its projection, applied inline in the transaction of the event they append. With the
 * projector stopped, the rows still show every outcome, written by the transaction that wrote the event.
 */
jest.setTimeout(60_000);

let db: TestDatabase;
let store: PostgresEventStore;
let server: Server;
let url: string;
let status = 200;
const client = new AlertmanagerClient({ timeoutMs: 2000 });
const source = {
  instance: 'inline-test',
  publicUrl: 'http://costsim.test',
  runbookUrl: 'http://runbook.test',
};

const newProjector = () =>
  new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [alertQueueProjection],
    lockId: 7070,
    pollMs: 20,
  });

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '' : JSON.stringify({ error: `injected ${status}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await client.close();
  await new Promise((r) => server.close(r));
  await db.drop();
});

const worker = () =>
  new AlertDeliveryWorker({
    pool: db.pool,
    store,
    sender: client,
    targets: [url],
    source,
    resendIntervalSeconds: 60,
    workerId: 'inline',
  });

/** Trips a breaker and waits for the projector to queue its intent, then stops the projector. */
async function intentQueuedThenProjectorStopped(name: string): Promise<void> {
  const projector = newProjector();
  projector.start();
  try {
    const service = new BreakerCommandService(new PostgresEventStore(db.pool), defaultBreakerPolicy);
    await service.execute({ name, tenantId: null }, (now, incidentId) => ({
      type: 'DisableBreaker',
      reason: `trip ${name}`,
      actor: 'test',
      incident_id: incidentId,
      now,
    }));
    await eventually(async () => {
      const { rows } = await db.pool.query(`select 1 from alert_queue where circuit_breaker_name = $1`, [
        name,
      ]);
      expect(rows).toHaveLength(1);
    });
  } finally {
    await projector.stop();
  }
}

const checkpoint = async () =>
  (
    await db.pool.query<{ c: string }>(
      `select transaction_id::text || ':' || global_position as c from projection_checkpoints where name = 'alert_queue'`,
    )
  ).rows[0]?.c;

/**
 * The row with the transaction that last wrote it (xmin, 32-bit) beside the transaction of the newest
 * event of the given type for it (xid8; its low 32 bits are the same transaction's xid).
 */
async function rowAndEvent(name: string, eventType: string) {
  const { rows } = await db.pool.query<{
    status: string;
    attempts: number;
    target: string | null;
    row_xid: string;
    event_xid: string | null;
    payload: unknown;
  }>(
    `select q.status, q.attempts, q.target, q.payload, q.xmin::text as row_xid,
            (select (e.transaction_id::text::numeric % 4294967296)::text from es_events e
              where e.event_type = $2 and e.data->>'row_id' = q.id
              order by e.global_position desc limit 1) as event_xid
       from alert_queue q where q.circuit_breaker_name = $1`,
    [name, eventType],
  );
  return rows;
}

test('with the projector stopped, a delivery outcome is in alert_queue, written in the transaction of its event', async () => {
  status = 200;
  await intentQueuedThenProjectorStopped('inline_sent');
  const before = await checkpoint();

  await worker().pass(); // routes the intent and delivers it; no projector runs

  const [row] = await rowAndEvent('inline_sent', 'AlertDelivered');
  expect(row).toMatchObject({ status: 'sent', attempts: 1, target: url });
  expect(Array.isArray(row!.payload) && row!.payload.length).toBe(1);
  expect(row!.event_xid).not.toBeNull();
  expect(row!.row_xid).toBe(row!.event_xid); // the same transaction wrote the event and the row
  expect(await checkpoint()).toBe(before); // the projector applied nothing meanwhile

  // The projector, started again, applies the same events idempotently: the row does not change.
  const projector = newProjector();
  projector.start();
  try {
    await eventually(async () => expect(await checkpoint()).not.toBe(before));
    const [again] = await rowAndEvent('inline_sent', 'AlertDelivered');
    expect(again).toMatchObject({ status: 'sent', attempts: 1, target: url });
  } finally {
    await projector.stop();
  }
});

test('with the projector stopped, a failed send and an operator retry and purge reach alert_queue with their events', async () => {
  status = 400; // final at once: failed
  await intentQueuedThenProjectorStopped('inline_failed');
  const before = await checkpoint();

  await worker().pass();
  const [failed] = await rowAndEvent('inline_failed', 'AlertDeliveryFailed');
  expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
  expect(failed!.row_xid).toBe(failed!.event_xid);

  const deps = { queries: new AlertQueries(db.pool), store, pool: db.pool };
  expect(await retryFailedAlerts(deps, { extraAttempts: 1, actor: 'test' })).toBe(1);
  const [retried] = await rowAndEvent('inline_failed', 'AlertDeliveryFailed');
  expect(retried!.status).toBe('pending');
  const { rows: admin } = await db.pool.query<{ xid: string }>(
    `select (transaction_id::text::numeric % 4294967296)::text as xid from es_events
      where stream_name = 'alert_admin' order by global_position desc limit 1`,
  );
  expect(retried!.row_xid).toBe(admin[0]!.xid); // the retry's event and its row change: one transaction

  await worker().pass(); // rejected again: failed for good
  expect((await rowAndEvent('inline_failed', 'AlertDeliveryFailed'))[0]).toMatchObject({
    status: 'failed',
    attempts: 2,
  });
  expect(await purgeAlerts(deps, { days: 0, statuses: ['failed'], actor: 'test' })).toBe(1);
  expect(await rowAndEvent('inline_failed', 'AlertDeliveryFailed')).toEqual([]);
  expect(await checkpoint()).toBe(before);
});
