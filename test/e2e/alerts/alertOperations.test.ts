import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { projectionStatuses } from '../../../src/projections/runtime/lag';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Operators' alert routes (docs/api.md "Alerts (operators)") and the re-assertion of firing alerts. Two
 * targets: the real Alertmanager, and an endpoint that rejects everything (HTTP 400), so that failed rows
 * exist to retry and purge.
 */
jest.setTimeout(60_000);

let am: RunningAlertmanager;
let rejecting: Server;
let rejectingUrl: string;
let t: TestService;

beforeAll(async () => {
  am = await startAlertmanager();
  rejecting = createServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('bad alert');
  });
  await new Promise<void>((resolve) => rejecting.listen(0, '127.0.0.1', resolve));
  rejectingUrl = `http://127.0.0.1:${(rejecting.address() as AddressInfo).port}`;
  t = await startTestService({
    ALERTMANAGER_URL: `${am.url},${rejectingUrl}`,
    ALERT_DELIVERY_POLL_MS: '50',
    ALERT_RESEND_INTERVAL: '1',
    INSTANCE_ID: 'alerts-ops',
    COSTSIM_BREAKERS: 'ops_a,ops_b',
  });
});
afterAll(async () => {
  await t?.stop();
  await am?.stop();
  await new Promise((r) => rejecting.close(r));
});

interface Row {
  id: string;
  target: string;
  status: string;
  attempts: number;
  max_attempts: number;
  tenant_id: string | null;
}
const list = async (query = '', key: string = testKeys.admin) => {
  const res = await t.call('GET', `/costsim/alerts${query}`, { key });
  return { status: res.status, body: (await res.json()) as { alerts: Row[] } };
};

testWithAlertmanager(
  'retry-failed puts failed rows back with more attempts; purge deletes old sent/failed rows',
  async () => {
    // Its own tenant, so the counts below are this test's alone.
    const disabled = await t.call('POST', '/costsim/breakers/ops_a/disable?tenant_id=ops-t1', {
      key: testKeys.admin,
      body: { reason: 'ops test' },
    });
    expect(disabled.status).toBe(200);
    await eventually(async () => {
      const rows = (await list('?tenant_id=ops-t1')).body.alerts;
      expect(rows.map((r) => [r.target, r.status]).sort()).toEqual(
        [
          [am.url, 'sent'],
          [rejectingUrl, 'failed'],
        ].sort(),
      );
    });
    const stats = async () =>
      (await (
        await t.call('GET', '/costsim/alerts/stats?tenant_id=ops-t1', { key: testKeys.admin })
      ).json()) as {
        pending: number;
        sent: number;
        failed: number;
      };
    expect(await stats()).toMatchObject({ sent: 1, failed: 1 });
    const failedRows = async () =>
      (await list('?status=failed&tenant_id=ops-t1')).body.alerts.map((r) => [r.attempts, r.max_attempts]);
    expect(await failedRows()).toEqual([[1, 10]]);

    const retry = await t.call('POST', '/costsim/alerts/retry-failed', {
      key: testKeys.admin,
      body: { max_retries: 2 },
    });
    expect(retry.status).toBe(200);
    // Queue-wide: this test's failed row, and any other test's.
    expect(((await retry.json()) as { retried: number }).retried).toBeGreaterThanOrEqual(1);
    // Retried at once, rejected again (400 is final): failed, attempts kept and counted, max_attempts raised.
    await eventually(async () => expect(await failedRows()).toEqual([[2, 12]]));
    // The projector applies the retry event again after the row failed again: it must not re-queue it.
    await eventually(async () => {
      const status = (await projectionStatuses(t.db.pool)).find((p) => p.name === 'alert_queue');
      expect(status?.lagEvents).toBe(0);
    });
    // A delivery pass now would try a re-queued row a third time.
    await t.service.alerts.worker.kick();
    expect(await failedRows()).toEqual([[2, 12]]);

    const purge = await t.call('POST', '/costsim/alerts/purge', {
      key: testKeys.admin,
      body: { days: 0, statuses: ['failed'] },
    });
    // Purge is queue-wide: this test's failed row goes, with any other test's.
    expect(((await purge.json()) as { purged: number }).purged).toBeGreaterThanOrEqual(1);
    expect(await stats()).toMatchObject({ sent: 1, failed: 0 });
    const { rows } = await t.db.pool.query<{ event_type: string }>(
      `select event_type from es_events where stream_name = 'alert_admin' order by global_position`,
    );
    expect(rows.map((r) => r.event_type)).toEqual(['AlertsRetried', 'AlertsPurged']); // audited
  },
);

testWithAlertmanager(
  'a firing alert is re-asserted while the breaker is open, and the resolve is re-sent after it closes',
  async () => {
    const reasserter = t.service.alerts.reasserter;
    await t.call('POST', '/costsim/breakers/ops_b/disable', {
      key: testKeys.admin,
      body: { reason: 'keep firing' },
    });
    const first = await eventually(async () => {
      const found = (await am.alerts()).find((a) => a.labels.circuit_breaker === 'ops_b');
      expect(found).toBeDefined();
      return found!;
    });
    // Alertmanager forgets what is not re-sent: it is re-asserted with endsAt pushed forward, same labels.
    const later = await eventually(async () => {
      expect(await reasserter.reassert()).toBeGreaterThan(0);
      const found = (await am.alerts()).find((a) => a.labels.circuit_breaker === 'ops_b');
      expect(Date.parse(found!.endsAt)).toBeGreaterThan(Date.parse(first.endsAt));
      return found!;
    });
    expect(later.labels).toEqual(first.labels);
    expect(later.startsAt).toBe(first.startsAt);

    await t.call('POST', '/costsim/breakers/ops_b/enable', {
      key: testKeys.admin,
      body: { reason: 'fixed' },
    });
    await eventually(async () =>
      expect(
        (await am.alerts()).filter(
          (a) => a.labels.circuit_breaker === 'ops_b' && a.labels.alertname === 'CostSimV2Disabled',
        ),
      ).toEqual([]),
    );
    // An Alertmanager that got the firing alert late (or lost the resolve) is told again: put the stale
    // firing alert back, and the next re-assertion pass resolves it.
    const stale = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        // endsAt well ahead: the copy must still be firing when Alertmanager lists it, however slow the machine.
        {
          labels: first.labels,
          annotations: first.annotations,
          startsAt: first.startsAt,
          endsAt: new Date(Date.now() + 600_000).toISOString(),
        },
      ]),
    });
    expect(stale.status).toBe(200);
    expect(
      (await am.alerts()).some(
        (a) => a.labels.circuit_breaker === 'ops_b' && a.labels.alertname === 'CostSimV2Disabled',
      ),
    ).toBe(true);
    await reasserter.reassert();
    await eventually(async () =>
      expect(
        (await am.alerts()).filter(
          (a) => a.labels.circuit_breaker === 'ops_b' && a.labels.alertname === 'CostSimV2Disabled',
        ),
      ).toEqual([]),
    );
  },
);

testWithAlertmanager(
  'alert routes: admin only, tenant keys see their tenant and cannot retry or purge, bad input is a problem',
  async () => {
    const adminEvents = async () =>
      (
        await t.db.pool.query<{ n: number }>(
          `select count(*)::int as n from es_events where stream_name = 'alert_admin'`,
        )
      ).rows[0]!.n;
    const before = await adminEvents();
    expect((await list('', testKeys.read)).status).toBe(403);
    expect((await t.call('GET', '/costsim/alerts')).status).toBe(401);
    const tenant = await list('', testKeys.tenantAAdmin);
    expect(tenant.status).toBe(200);
    expect(tenant.body.alerts.every((r) => r.tenant_id === 'tenant-a')).toBe(true);
    expect((await list('?tenant_id=tenant-b', testKeys.tenantAAdmin)).status).toBe(403);
    const retry = await t.call('POST', '/costsim/alerts/retry-failed', {
      key: testKeys.tenantAAdmin,
      body: {},
    });
    expect(retry.status).toBe(403);

    for (const [path, body, field] of [
      ['/costsim/alerts/retry-failed', { max_retries: 'three' }, 'max_retries'],
      ['/costsim/alerts/retry-failed', { max_retries: 0 }, 'max_retries'],
      ['/costsim/alerts/purge', { days: -1 }, 'days'],
      ['/costsim/alerts/purge', { statuses: ['pending'] }, 'statuses.0'],
      ['/costsim/alerts/purge', { everything: true }, 'everything'],
    ] as const) {
      const res = await t.call('POST', path, { key: testKeys.admin, body });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as { errors: Array<{ path: string }> };
      expect(problem.errors.map((e) => e.path)).toContain(field);
    }
    const badQuery = await t.call('GET', '/costsim/alerts?status=lost', { key: testKeys.admin });
    expect(badQuery.status).toBe(400);
    expect(await adminEvents()).toBe(before); // nothing a refused or bad request asked for was written
  },
);
