import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';
import { type WebhookReceiver, startWebhookReceiver } from '../../support/webhookReceiver';

/**
 * docs/domain.md §4 end to end, where an on-call sees it: the service → the real Alertmanager → its webhook
 * receiver (send_resolved on). A trip is notified firing; the enable is notified as the resolve of that
 * alert AND as a firing CostSimV2Reenabled (which, sent with startsAt = endsAt as before, Alertmanager
 * would have dropped without a notification).
 */
let webhook: WebhookReceiver;
let am: RunningAlertmanager;
let t: TestService;

beforeAll(async () => {
  webhook = await startWebhookReceiver();
  am = await startAlertmanager({ webhookUrl: webhook.url, groupWait: '0s', groupInterval: '1s' });
  t = await startTestService({
    ALERTMANAGER_URL: am.url,
    ALERT_DELIVERY_POLL_MS: '50',
    INSTANCE_ID: 'webhook-e2e',
    COSTSIM_BREAKERS: 'notified',
  });
});
afterAll(async () => {
  await t?.stop();
  await am?.stop();
  await webhook?.stop();
});

const notified = (alertname: string, status: 'firing' | 'resolved') =>
  webhook.alerts().filter((a) => a.labels.alertname === alertname && a.status === status);

testWithAlertmanager('firing, resolved and CostSimV2Reenabled each reach the webhook receiver', async () => {
  const disabled = await t.call('POST', '/costsim/breakers/notified/disable', {
    key: testKeys.admin,
    body: { reason: 'bad deploy', ttl_hours: 1 },
  });
  expect(disabled.status).toBe(200);
  const firing = await eventually(() => {
    const found = notified('CostSimV2Disabled', 'firing');
    expect(found).toHaveLength(1);
    return found[0]!;
  }, 30_000);
  expect(firing.labels).toMatchObject({
    alertname: 'CostSimV2Disabled',
    severity: 'p2',
    circuit_breaker: 'notified',
    component: 'costsim',
  });
  expect(firing.annotations.runbook_url).toMatch(/\/docs\/runbooks\/breaker-tripped\.md$/);

  const enabled = await t.call('POST', '/costsim/breakers/notified/enable', {
    key: testKeys.admin,
    body: { reason: 'rolled back' },
  });
  expect(enabled.status).toBe(200);
  const [resolved, reenabled] = await eventually(() => {
    const r = notified('CostSimV2Disabled', 'resolved');
    const e = notified('CostSimV2Reenabled', 'firing');
    expect([r.length, e.length]).toEqual([1, 1]);
    return [r[0]!, e[0]!];
  }, 30_000);
  expect(resolved.labels).toEqual(firing.labels); // the same alert, resolved
  expect(reenabled.labels).toMatchObject({ severity: 'info', circuit_breaker: 'notified' });
  expect(reenabled.annotations.description).toContain('rolled back');
  // The webhook shows a firing alert without its endsAt; Alertmanager's API has it: five minutes on.
  const held = (await am.alerts()).find((a) => a.labels.alertname === 'CostSimV2Reenabled');
  expect(Date.parse(held!.endsAt) - Date.parse(held!.startsAt)).toBe(5 * 60_000);
  console.log(
    `[webhook] ${webhook.notifications.length} notifications: ${webhook
      .alerts()
      .map((a) => `${a.labels.alertname}/${a.status}`)
      .join(', ')}`,
  );
});
