import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Breaker alerts through the whole service to a REAL Alertmanager (Debian's prometheus-alertmanager):
 * a trip fires CostSimV2Disabled with stable labels, the incident is marked alert_sent, an enable resolves
 * it, and an Alertmanager outage only delays delivery (retries with back-off) — nothing is lost.
 */
jest.setTimeout(60_000);

let am: RunningAlertmanager;
let t: TestService;

beforeAll(async () => {
  am = await startAlertmanager();
  t = await startTestService({
    ALERTMANAGER_URL: am.url,
    ALERTMANAGER_TIMEOUT: '2',
    ALERT_DELIVERY_POLL_MS: '50',
    ALERT_RESEND_INTERVAL: '60',
    INSTANCE_ID: 'alerts-e2e',
    COSTSIM_BREAKERS: 'alerted,outage',
    COSTSIM_PUBLIC_URL: 'https://costsim.example.test',
  });
});
afterAll(async () => {
  await t?.stop();
  await am?.stop();
});

interface QueueRow {
  id: string;
  alert_type: string;
  circuit_breaker_name: string;
  incident_id: string;
  target: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string;
}

async function queue(breaker: string): Promise<QueueRow[]> {
  const res = await t.call('GET', '/costsim/alerts?limit=1000', { key: testKeys.admin });
  expect(res.status).toBe(200);
  const { alerts } = (await res.json()) as { alerts: QueueRow[] };
  return alerts.filter((a) => a.circuit_breaker_name === breaker);
}

const disable = (breaker: string, reason: string) =>
  t.call('POST', `/costsim/breakers/${breaker}/disable`, {
    key: testKeys.admin,
    body: { reason, ttl_hours: 0 },
  });

testWithAlertmanager(
  'a trip fires CostSimV2Disabled in Alertmanager with the incident labels; an enable resolves it',
  async () => {
    const res = await disable('alerted', 'bad deploy');
    expect(res.status).toBe(200);
    const { incident } = (await res.json()) as { incident: { id: string } };

    const firing = await eventually(async () => {
      const found = (await am.alerts()).find((a) => a.labels.circuit_breaker === 'alerted');
      expect(found).toBeDefined();
      return found!;
    });
    expect(firing.labels).toEqual({
      alertname: 'CostSimV2Disabled',
      severity: 'p2',
      component: 'costsim',
      circuit_breaker: 'alerted',
      instance: 'alerts-e2e',
    });
    expect(firing.annotations).toMatchObject({
      summary: 'CostSim V2 circuit breaker tripped (P2)',
      incident_id: incident.id,
    });
    expect(firing.annotations.description).toContain('bad deploy');
    expect(firing.annotations.description).toContain('manual reset required');
    expect(firing.status.state).toBe('active');
    // Re-asserted alerts keep it alive: endsAt is four resend intervals ahead, not Alertmanager's default.
    expect(Date.parse(firing.endsAt) - Date.now()).toBeGreaterThan(3 * 60_000);

    await eventually(async () => {
      const rows = await queue('alerted');
      expect(rows.map((r) => [r.alert_type, r.status, r.target])).toEqual([['disable', 'sent', am.url]]);
    });
    await eventually(async () => {
      const incidents = await t.call('GET', '/costsim/breakers/alerted/incidents?include_resolved=true', {
        key: testKeys.read,
      });
      const body = (await incidents.json()) as { incidents: Array<{ id: string; alert_sent: boolean }> };
      expect(body.incidents.find((i) => i.id === incident.id)?.alert_sent).toBe(true);
    });

    expect(
      (await t.call('POST', '/costsim/breakers/alerted/enable', { key: testKeys.admin, body: {} })).status,
    ).toBe(200);
    await eventually(async () => {
      const held = (await am.alerts()).filter((a) => a.labels.circuit_breaker === 'alerted');
      // The firing alert is resolved; the informational CostSimV2Reenabled is active for five minutes
      // (docs/domain.md §4: an alert that arrived resolved would never be notified).
      expect(held.map((a) => [a.labels.alertname, a.status.state])).toEqual([
        ['CostSimV2Reenabled', 'active'],
      ]);
      expect(Date.parse(held[0]!.endsAt) - Date.now()).toBeGreaterThan(4 * 60_000);
      const rows = await queue('alerted');
      expect(rows.map((r) => [r.alert_type, r.status]).sort()).toEqual([
        ['disable', 'sent'],
        ['enable', 'sent'],
      ]);
    });
  },
);

testWithAlertmanager(
  'an Alertmanager outage delays an alert and never loses it: retried with back-off, delivered when it is back',
  async () => {
    await am.kill();
    try {
      expect((await disable('outage', 'during the outage')).status).toBe(200);
      const failed = await eventually(async () => {
        const [row] = await queue('outage');
        expect(row?.attempts).toBeGreaterThanOrEqual(1);
        return row!;
      });
      expect(failed.status).toBe('pending');
      expect(failed.last_error).toMatch(/ECONNREFUSED/);
      // Back-off: the next attempt is min(2^attempts, 300) s after the last one, not immediate.
      expect(Date.parse(failed.next_attempt_at) - Date.parse(failed.last_attempt_at!)).toBe(
        Math.min(2 ** failed.attempts, 300) * 1000,
      );
      const stats = (await (
        await t.call('GET', '/costsim/alerts/stats', { key: testKeys.admin })
      ).json()) as {
        pending: number;
        oldest_pending: string | null;
      };
      expect(stats.pending).toBeGreaterThanOrEqual(1);
      expect(stats.oldest_pending).not.toBeNull();
    } finally {
      await am.start();
    }
    const delivered = await eventually(async () => {
      const [row] = await queue('outage');
      expect(row?.status).toBe('sent');
      return row!;
    }, 20_000);
    expect(delivered.attempts).toBeGreaterThanOrEqual(2);
    await eventually(async () =>
      expect((await am.alerts()).some((a) => a.labels.circuit_breaker === 'outage')).toBe(true),
    );
  },
);
