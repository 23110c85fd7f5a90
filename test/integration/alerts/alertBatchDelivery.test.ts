import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertDeliveryWorker } from '../../../src/commands/alerts/alertDeliveryWorker';
import { BreakerCommandService } from '../../../src/commands/breaker/breakerCommandService';
import { defaultBreakerPolicy } from '../../../src/domain/breaker';
import { AlertmanagerClient } from '../../../src/infra/alertmanager/alertmanagerClient';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { alertQueueProjection } from '../../../src/projections/alerts/alertQueueProjection';
import { Projector } from '../../../src/projections/runtime/projector';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { alertmanagerSource, testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Delivery in batches (issue #13): the rows a worker claims for one target go out as ONE POST, and every
 * outcome of the batch is recorded in ONE transaction. The request counts come from a recording endpoint
 * (Alertmanager cannot say how many requests it was sent); the same batches against the real Alertmanager
 * are the first test. Each test drains the queue completely, so the next one starts from an empty queue.
 */
jest.setTimeout(60_000);

let db: TestDatabase;
let store: PostgresEventStore;
let am: RunningAlertmanager | null = null;
const servers: Server[] = [];
const client = new AlertmanagerClient({ timeoutMs: 2000 });
const source = {
  instance: 'batch-test',
  publicUrl: 'http://costsim.test',
  runbookUrl: 'http://runbook.test',
};

interface Endpoint {
  url: string;
  /** incident ids per request, one array per POST */
  requests: string[][];
  /** each request's body length, in the same order */
  bodies: number[];
  status: number;
}

/** `delayMs`: each answer comes that much later (a slow Alertmanager, so that workers overlap). */
async function endpoint(status = 200, delayMs = 0): Promise<Endpoint> {
  const ep: Endpoint = { url: '', requests: [], bodies: [], status };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const alerts = JSON.parse(body) as Array<{ annotations: { incident_id?: string } }>;
      ep.requests.push(alerts.map((a) => a.annotations.incident_id ?? '?'));
      ep.bodies.push(body.length);
      setTimeout(() => {
        res.writeHead(ep.status, { 'content-type': 'application/json' });
        res.end(ep.status === 200 ? '' : JSON.stringify({ error: `injected ${ep.status}` }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  ep.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return ep;
}

const worker = (targets: string[], id: string, batchSize: number, clock?: () => Date) =>
  new AlertDeliveryWorker({
    pool: db.pool,
    store,
    sender: client,
    targets,
    source,
    resendIntervalSeconds: 60,
    workerId: id,
    batchSize,
    ...(clock ? { clock } : {}),
  });

/** Trips `count` breakers `${prefix}<i>` with the projector running, then stops it: the intents are queued. */
async function queued(prefix: string, count: number): Promise<string[]> {
  const projector = new Projector({
    pool: db.pool,
    store,
    connectionString: db.url,
    projections: [alertQueueProjection],
    lockId: 7071,
    pollMs: 20,
  });
  projector.start();
  try {
    const service = new BreakerCommandService(new PostgresEventStore(db.pool), defaultBreakerPolicy);
    const outcomes = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        service.execute({ name: `${prefix}${i}`, tenantId: null }, (now, incidentId) => ({
          type: 'DisableBreaker',
          reason: 'batch test',
          actor: 'test',
          incident_id: incidentId,
          now,
        })),
      ),
    );
    await eventually(async () => expect(await rows(prefix)).toHaveLength(count));
    return outcomes.map((o) => o.incident_id!).sort();
  } finally {
    await projector.stop();
  }
}

async function rows(prefix: string) {
  const { rows: found } = await db.pool.query<{
    id: string;
    status: string;
    attempts: number;
    last_error: string | null;
    claimed_by: string | null;
    row_xid: string;
  }>(
    `select id, status, attempts, last_error, claimed_by, xmin::text as row_xid from alert_queue
      where circuit_breaker_name like $1 order by id`,
    [`${prefix}%`],
  );
  return found;
}

async function deliveredEvents(prefix: string) {
  const { rows: found } = await db.pool.query<{ n: number; distinct_rows: number }>(
    `select count(*)::int as n, count(distinct e.data->>'row_id')::int as distinct_rows
       from es_events e join alert_queue q on q.id = e.data->>'row_id'
      where e.event_type = 'AlertDelivered' and q.circuit_breaker_name like $1`,
    [`${prefix}%`],
  );
  return found[0]!;
}

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  if (alertmanagerSource().kind !== 'none') am = await startAlertmanager();
});
afterAll(async () => {
  await client.close();
  for (const s of servers) await new Promise((r) => s.close(r));
  await am?.stop();
  await db.drop();
});

testWithAlertmanager(
  'a batch to one target is one POST; the same batches reach the real Alertmanager, every alert once',
  async () => {
    const recorder = await endpoint();
    const incidents = await queued('batch_', 12);

    await worker([recorder.url, am!.url], 'wb', 5).pass();

    // 12 rows per target in batches of 5 (each batch one target's rows, or both targets' rows split into
    // one POST per target): every alert reached the recorder once, in POSTs of several alerts each.
    expect(recorder.requests.flat().sort()).toEqual(incidents);
    expect(recorder.requests.length).toBeLessThan(incidents.length);
    expect(Math.max(...recorder.requests.map((r) => r.length))).toBeGreaterThan(1);
    const listed = (await am!.alerts()).filter((a) => a.labels.circuit_breaker?.startsWith('batch_'));
    expect(listed.map((a) => a.annotations.incident_id).sort()).toEqual(incidents);
    const found = await rows('batch_');
    expect(found).toHaveLength(24);
    expect(found.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
    expect(await deliveredEvents('batch_')).toEqual({ n: 24, distinct_rows: 24 });
  },
);

test('one target, one worker: all due rows of a batch go out in a single POST', async () => {
  const recorder = await endpoint();
  const incidents = await queued('single_', 8);
  await worker([recorder.url], 'ws', 50).pass();
  expect(recorder.requests).toHaveLength(1);
  expect([...recorder.requests[0]!].sort()).toEqual(incidents);
  expect(await deliveredEvents('single_')).toEqual({ n: 8, distinct_rows: 8 });
});

test('a batch larger than the POST byte bound goes out in several POSTs under it, every alert once', async () => {
  const recorder = await endpoint();
  const incidents = await queued('bytes_', 9);
  const bounded = new AlertDeliveryWorker({
    pool: db.pool,
    store,
    sender: client,
    targets: [recorder.url],
    source,
    resendIntervalSeconds: 60,
    workerId: 'wbytes',
    batchSize: 50,
    // room for two rendered alerts (each is some 500 characters of JSON), not nine
    maxPostBytes: 1200,
  });
  await bounded.pass();
  expect(recorder.requests.flat().sort()).toEqual(incidents);
  expect(recorder.requests.length).toBeGreaterThan(2);
  expect(Math.max(...recorder.requests.map((r) => r.length))).toBeLessThan(incidents.length);
  expect(Math.max(...recorder.requests.map((r) => r.length))).toBeGreaterThan(1);
  // every POST under the bound (its JSON is the alerts' and the array's brackets and commas)
  expect(Math.max(...recorder.bodies)).toBeLessThanOrEqual(1200 + 2 + 9);
  expect(await deliveredEvents('bytes_')).toEqual({ n: 9, distinct_rows: 9 });
});

test('a failed POST (503, then refused) leaves every alert of the batch for retry; none is lost', async () => {
  const flaky = await endpoint(503);
  const incidents = await queued('flaky_', 6);
  let now = Date.now();
  const clock = () => new Date(now);

  await worker([flaky.url], 'wf', 50, clock).pass();
  expect(flaky.requests).toHaveLength(1); // the whole batch in one POST, answered 503
  let found = await rows('flaky_');
  expect(found).toHaveLength(6);
  expect(
    found.every((r) => r.status === 'pending' && r.attempts === 1 && /^HTTP 503/.test(r.last_error ?? '')),
  ).toBe(true);
  expect(found.every((r) => r.claimed_by === null)).toBe(true); // not held by a lease

  // Refused: the endpoint is gone. Past the back-off, attempt 2 fails for every row alike.
  const refusedUrl = flaky.url;
  await new Promise((r) => servers.pop()!.close(r));
  now += 301_000;
  await worker([refusedUrl], 'wf', 50, clock).pass();
  found = await rows('flaky_');
  expect(found.every((r) => r.status === 'pending' && r.attempts === 2 && r.last_error)).toBe(true);

  // Back on the same URL: attempt 3 delivers each alert once.
  const port = Number(new URL(refusedUrl).port);
  const back: Endpoint = { url: refusedUrl, requests: [], bodies: [], status: 200 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      back.requests.push(
        (JSON.parse(body) as Array<{ annotations: { incident_id?: string } }>).map(
          (a) => a.annotations.incident_id ?? '?',
        ),
      );
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  servers.push(server);
  now += 301_000;
  await worker([refusedUrl], 'wf', 50, clock).pass();
  expect(back.requests.flat().sort()).toEqual(incidents);
  found = await rows('flaky_');
  expect(found.every((r) => r.status === 'sent' && r.attempts === 3)).toBe(true);
  expect(await deliveredEvents('flaky_')).toEqual({ n: 6, distinct_rows: 6 });
});

test('two workers draining one queue at once never deliver the same alert twice', async () => {
  const recorder = await endpoint(200, 20);
  const incidents = await queued('race_', 120);
  // Routed first (by a worker for which nothing is due yet), so that both find the rows when they start.
  await worker([recorder.url], 'router', 7, () => new Date(0)).pass();
  expect(recorder.requests).toHaveLength(0);
  const a = worker([recorder.url], 'wa', 7);
  const b = worker([recorder.url], 'wb2', 7);
  const [sentA, sentB] = await Promise.all([a.pass(), b.pass()]);

  expect(sentA + sentB).toBe(120);
  expect(sentA).toBeGreaterThan(0);
  expect(sentB).toBeGreaterThan(0);
  expect(recorder.requests.flat().sort()).toEqual(incidents); // each exactly once
  expect(await deliveredEvents('race_')).toEqual({ n: 120, distinct_rows: 120 });
  expect((await rows('race_')).every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
});

test("a batch's rows and their events commit together, in one transaction per batch", async () => {
  const recorder = await endpoint();
  await queued('tx_', 10);
  await worker([recorder.url], 'wt', 5).pass(); // two batches of 5, no projector running

  expect(recorder.requests.map((r) => r.length)).toEqual([5, 5]);
  const { rows: pairs } = await db.pool.query<{ row_xid: string; event_xid: string }>(
    `select q.xmin::text as row_xid, (e.transaction_id::text::numeric % 4294967296)::text as event_xid
       from alert_queue q join es_events e on e.data->>'row_id' = q.id and e.event_type = 'AlertDelivered'
      where q.circuit_breaker_name like 'tx_%'`,
  );
  expect(pairs).toHaveLength(10);
  for (const p of pairs) expect(p.row_xid).toBe(p.event_xid); // each row with its own event
  const transactions = new Set(pairs.map((p) => p.event_xid));
  expect(transactions.size).toBe(2); // one commit per batch
});

testWithAlertmanager(
  'outcomes the database refuses mid-pass: the batch claimed ahead is handed back, and once it accepts ' +
    'again every alert is recorded once and reaches Alertmanager',
  async () => {
    // Slow answers: a POST outlasts the refused commit of the batch before it, so the worker learns of the
    // refusal with the next batch already claimed — the one it must hand back.
    const recorder = await endpoint(200, 50);
    const incidents = await queued('refused_', 12);
    // The database refuses every AlertDelivered while the switch is on: the outcome's append (and its
    // inline row update) roll back, as on a full disk or a failover.
    await db.pool.query(`
      create table refuse_delivered (refusing boolean not null);
      insert into refuse_delivered values (true);
      create function refuse_delivered() returns trigger language plpgsql as $$
      begin
        if (select refusing from refuse_delivered) then raise exception 'injected: outcome refused'; end if;
        return new;
      end $$;
      create trigger refuse_delivered before insert on es_events for each row
        when (new.event_type = 'AlertDelivered') execute function refuse_delivered();`);
    let now = Date.now();
    const clock = () => new Date(now);
    try {
      await expect(worker([recorder.url, am!.url], 'wr', 5, clock).pass()).rejects.toThrow(/outcome refused/);

      // Nothing recorded; every row still held was POSTed (its outcome is unknown to the queue until its
      // lease passes), and every row that was not POSTed was handed back rather than held for the lease.
      const posted = new Set(recorder.requests.flat());
      expect(posted.size).toBeGreaterThan(0);
      let found = await rows('refused_');
      expect(found).toHaveLength(24);
      expect(found.every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);
      expect(await deliveredEvents('refused_')).toEqual({ n: 0, distinct_rows: 0 });
      const { rows: held } = await db.pool.query<{ incident_id: string; target: string }>(
        `select incident_id, target from alert_queue where circuit_breaker_name like 'refused_%'
            and claimed_by is not null`,
      );
      for (const row of held.filter((h) => h.target === recorder.url)) {
        expect(posted.has(row.incident_id)).toBe(true);
      }

      // The database accepts again: the rows handed back go out now, the held ones once their lease has
      // passed — a second send of those (at least once), one outcome each.
      await db.pool.query('update refuse_delivered set refusing = false');
      await worker([recorder.url, am!.url], 'wr', 5, clock).pass();
      now += 31_000;
      await worker([recorder.url, am!.url], 'wr', 5, clock).pass();

      found = await rows('refused_');
      expect(found.every((r) => r.status === 'sent' && r.attempts === 1 && r.claimed_by === null)).toBe(true);
      expect(await deliveredEvents('refused_')).toEqual({ n: 24, distinct_rows: 24 });
      expect([...new Set(recorder.requests.flat())].sort()).toEqual(incidents);
      const listed = (await am!.alerts()).filter((a) => a.labels.circuit_breaker?.startsWith('refused_'));
      expect(listed.map((a) => a.annotations.incident_id).sort()).toEqual(incidents);
    } finally {
      await db.pool.query(`drop trigger if exists refuse_delivered on es_events;
        drop function if exists refuse_delivered(); drop table if exists refuse_delivered;`);
    }
  },
);
