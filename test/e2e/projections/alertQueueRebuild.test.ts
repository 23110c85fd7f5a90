import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { projectionStatuses } from '../../../src/projections/runtime/lag';
import { eventually } from '../../support/eventually';
import { disableV2, probe, spawnCli, v2Runs } from '../../support/killSwitchProbe';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * alert_queue rebuilt on a live service while alerts keep being raised and sent, to a real Alertmanager
 * and, beside it, a recording endpoint that counts every POST (Alertmanager itself de-duplicates, so it
 * could not show a second send). Delivery outcomes are events, so the rebuilt queue knows what was sent;
 * rows being sent at the swap keep their lease (two replicas' workers compete for the rows, and the
 * recorder answers slowly so that sends are in flight at the swap). Every row is sent exactly once.
 */
jest.setTimeout(120_000);

let am: RunningAlertmanager;
let recorder: Server;
let recorderUrl: string;
const received: unknown[] = [];
let t: TestService;
let second: TestService;
/** The recorder answers slowly, so sends are in flight at the swap and two workers compete for rows. */
const RECORDER_DELAY_MS = 150;

beforeAll(async () => {
  am = await startAlertmanager();
  recorder = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/alerts') received.push(JSON.parse(body));
      setTimeout(
        () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'),
        RECORDER_DELAY_MS,
      );
    });
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  const env = {
    ALERTMANAGER_URL: `${am.url},${recorderUrl}`,
    ALERT_DELIVERY_POLL_MS: '50',
    // This test counts POSTs against queue rows (one per row): with batches (issue #13) several rows share
    // a POST, so it runs with one row per batch; batched delivery is test/integration/alerts/alertBatch*.
    ALERT_DELIVERY_BATCH_SIZE: '1',
    // No re-assertion within the test: every POST the recorder sees is a first send from the queue.
    ALERT_RESEND_INTERVAL: '3600',
    COSTSIM_V2_SANDBOX: 'true',
  };
  t = await startTestService(env);
  // A second replica: its delivery worker competes for the same rows (leases decide who sends).
  second = await startTestService({ ...env, INSTANCE_ID: 'second' }, t.db);
});
afterAll(async () => {
  await second?.stop();
  await t?.stop();
  await am?.stop();
  await new Promise((r) => recorder?.close(r));
});

/** Declares the breaker (first time), then disables or enables it. */
const command = async (breaker: string, action: 'disable' | 'enable') => {
  if (action === 'disable') {
    const declared = await t.call('PUT', `/costsim/breakers/${breaker}`, { key: testKeys.admin, body: {} });
    if (declared.status >= 300)
      throw new Error(`declare ${breaker}: ${declared.status} ${await declared.text()}`);
  }
  const res = await t.call('POST', `/costsim/breakers/${breaker}/${action}`, {
    key: testKeys.admin,
    body: action === 'disable' ? { reason: 'alert rebuild test', ttl_hours: 0 } : {},
  });
  if (res.status !== 200) throw new Error(`${action} ${breaker}: ${res.status} ${await res.text()}`);
};

const queue = async () =>
  (
    await t.db.pool.query<{ id: string; target: string | null; status: string }>(
      'select id, target, status from alert_queue order by id',
    )
  ).rows;

/** Row ids delivered to the recorder, one entry per AlertDelivered event. */
const deliveredToRecorder = async () =>
  (
    await t.db.pool.query<{ row_id: string }>(
      `select data->>'row_id' as row_id from es_events where event_type = 'AlertDelivered' and data->>'target' = $1`,
      [recorderUrl],
    )
  ).rows.map((r) => r.row_id);

/** The queue has caught up with every event and every row is sent. */
async function allSent(): Promise<void> {
  await eventually(async () => {
    const status = (await projectionStatuses(t.db.pool)).find((s) => s.name === 'alert_queue');
    expect(status?.lagEvents).toBe(0);
    const rows = await queue();
    expect(rows.filter((r) => r.status !== 'sent' || r.target === null)).toEqual([]);
  }, 30_000);
}

test('alert_queue rebuilt while alerts are raised and sent: nothing delivered is sent again, nothing is lost', async () => {
  const kill = probe(t.url);
  expect(await kill.simulateRanV2()).toBe(true);
  await disableV2(t.url, 'alert rebuild test');
  for (let i = 0; i < 5; i++) {
    await command(`before_${i}`, 'disable');
    await command(`before_${i}`, 'enable');
  }
  await allSent();
  const before = (await queue()).filter((r) => r.target === recorderUrl).length;
  expect(before).toBeGreaterThanOrEqual(11); // costsim_v2's trip, five trips and five enables
  await eventually(() => expect(received).toHaveLength(before));

  // Alerts keep coming while the queue is rebuilt: trips and enables, sent as they are queued.
  // Every tenth breaker stays open, so its alert is still firing in Alertmanager at the end.
  let stop = false;
  let cycles = 0;
  let intents = 0;
  const raising = (async () => {
    while (!stop) {
      await command(`during_${cycles}`, 'disable');
      intents++;
      if (cycles % 10 !== 0) {
        await command(`during_${cycles}`, 'enable');
        intents++;
      }
      cycles++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const rebuilds = [];
  for (let i = 0; i < 2; i++) {
    const run = spawnCli(t.db.url, 'projections', 'rebuild', 'alert_queue');
    const { code } = await run.exited;
    rebuilds.push(code);
    if (code !== 0) throw new Error(`rebuild exited ${code}:\n${run.output()}`);
  }
  stop = true;
  await raising;
  await allSent();

  // Every row sent exactly once to the recorder: as many POSTs as rows, one AlertDelivered per row.
  const rows = (await queue()).filter((r) => r.target === recorderUrl);
  expect(rows.length).toBe(before + intents);
  const delivered = await deliveredToRecorder();
  expect(new Set(delivered).size).toBe(delivered.length);
  expect(new Set(delivered)).toEqual(new Set(rows.map((r) => r.id)));
  await new Promise((r) => setTimeout(r, 500)); // a few more delivery polls: nothing else goes out
  expect(received.length).toBe(rows.length);
  console.log(
    `[alert rebuild] ${cycles} disable/enable cycles during 2 rebuilds; ${rows.length} rows, each sent once`,
  );

  // The real Alertmanager got them too.
  await eventually(async () => {
    const firing = new Set(
      (await am.alerts())
        .filter((a) => a.labels.alertname === 'CostSimV2Disabled')
        .map((a) => a.labels.circuit_breaker),
    );
    for (let i = 0; i < cycles; i += 10) expect(firing).toContain(`during_${i}`);
    expect(firing).not.toContain('during_1');
  });

  // And the kill switch held.
  expect(await kill.breakerOpen()).toBe(true);
  expect(await kill.simulateRanV2()).toBe(false);
  expect(await v2Runs(t.db.pool)).toBe(1);
});
