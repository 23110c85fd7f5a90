import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * docs/domain.md §3: with COSTSIM_V2_AUTO_DISABLE=false drift never trips the breaker, but it still alerts P2 —
 * here, in the real Alertmanager, as CostSimV2DriftWarning, once per run of failures.
 */
let am: RunningAlertmanager;
let t: TestService;

beforeAll(async () => {
  am = await startAlertmanager();
  t = await startTestService({
    ALERTMANAGER_URL: am.url,
    ALERT_DELIVERY_POLL_MS: '50',
    COSTSIM_V2_AUTO_DISABLE: 'false',
    INSTANCE_ID: 'drift-warning',
    COSTSIM_BREAKERS: 'watched',
  });
});
afterAll(async () => {
  await t?.stop();
  await am?.stop();
});

testWithAlertmanager(
  'drift over the threshold with auto-disable off: a P2 drift warning, and the breaker stays closed',
  async () => {
    for (let i = 0; i < 3; i++) {
      const res = await t.call('POST', '/costsim/breakers/watched/drift?tenant_id=tenant-w', {
        key: testKeys.write,
        body: { drift_score: 0.42, sample_count: 20 },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { tripped: boolean }).tripped).toBe(false);
    }
    const warning = await eventually(async () => {
      const found = (await am.alerts()).find((a) => a.labels.circuit_breaker === 'watched');
      expect(found).toBeDefined();
      return found!;
    });
    expect(warning.labels).toEqual({
      alertname: 'CostSimV2DriftWarning',
      severity: 'p2',
      component: 'costsim',
      circuit_breaker: 'watched',
      tenant_id: 'tenant-w',
      instance: 'drift-warning',
    });
    expect(warning.annotations.description).toContain('0.4200 > 0.2');
    const state = await t.call('GET', '/costsim/breakers/watched?tenant_id=tenant-w', { key: testKeys.read });
    expect(((await state.json()) as { open: boolean }).open).toBe(false);
    // The worker records the outcome after Alertmanager answered (outbox: send, then record), so the
    // alert can be listed there a moment before its row says sent.
    await eventually(async () => {
      const { rows } = await t.db.pool.query<{ alert_type: string; status: string }>(
        `select alert_type, status from alert_queue where circuit_breaker_name = 'watched'`,
      );
      expect(rows).toEqual([{ alert_type: 'drift_warning', status: 'sent' }]);
    });
  },
);
