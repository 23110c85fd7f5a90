import { createHash } from 'node:crypto';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * A failed canary through the whole service: each failed run queues CostSimCanaryFailed, which reaches a
 * REAL Alertmanager with its run id; COSTSIM_CANARY_FAILURE_THRESHOLD (3) failed runs in a row trip
 * costsim_v2 at P2 with the run ids in the reason, and the history shows every step.
 */
jest.setTimeout(60_000);

let am: RunningAlertmanager;
let t: TestService;

beforeAll(async () => {
  am = await startAlertmanager();
  t = await startTestService({
    ALERTMANAGER_URL: am.url,
    ALERT_DELIVERY_POLL_MS: '50',
    INSTANCE_ID: 'canary-e2e',
    COSTSIM_CANARY_FAILURE_THRESHOLD: '3',
  });
  const canary = t.service.canary;
  await eventually(async () => expect(canary.leadership.isLeader).toBe(true));
  // Recorded sandbox traffic V2 gets wrong: an unknown skill (V1 10¢, V2 5¢: drift 0.3, a mismatch).
  const records = Array.from({ length: 12 }, (_, i) => ({
    variant_slug: 'v2',
    source: 'sandbox',
    input_hash: createHash('sha256').update(`teleport-${i}`).digest('hex'),
    v1_cost: 10,
    v2_cost: 5,
    drift_score: 0.3,
    verdict: 'mismatch',
    payload: { input: { plan: [{ skill: 'teleport', params: { to: `moon-${i}` } }], budget_cents: 100 } },
  }));
  const res = await t.call('POST', '/costsim/provenance', { key: testKeys.write, body: { records } });
  expect(res.status).toBe(201);
  await eventually(async () =>
    expect((await t.db.pool.query('select count(*)::int as n from provenance')).rows[0].n).toBe(12),
  );
});
afterAll(async () => {
  await t?.stop();
  await am?.stop();
});

const run = async () => {
  const res = await t.call('POST', '/costsim/canary/run', { key: testKeys.admin, body: { dataset_ids: [] } });
  expect(res.status).toBe(200);
  return (await res.json()) as { run_id: string; status: string; failure_reasons: string[] };
};

testWithAlertmanager(
  'three failed runs: CostSimCanaryFailed in Alertmanager with each run id; the third trips costsim_v2 at P2',
  async () => {
    const first = await run();
    expect(first.status).toBe('fail');
    expect(first.failure_reasons[0]).toMatch(/^KL divergence \d+\.\d{4} > 0\.2$/);
    expect(first.failure_reasons).toContain('Major drift samples 100.00% > 10%');

    const alerted = await eventually(async () => {
      const found = (await am.alerts()).find(
        (a) => a.labels.alertname === 'CostSimCanaryFailed' && a.labels.run_id === first.run_id,
      );
      expect(found).toBeDefined();
      return found!;
    });
    expect(alerted.labels).toEqual({
      alertname: 'CostSimCanaryFailed',
      severity: 'p2',
      component: 'costsim',
      run_id: first.run_id,
      instance: 'canary-e2e',
    });
    expect(alerted.annotations.run_id).toBe(first.run_id);
    expect(alerted.annotations.description).toContain(first.failure_reasons[0]);
    expect(alerted.status.state).toBe('active');

    // not yet tripped after two
    const second = await run();
    const state2 = (await (
      await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.read })
    ).json()) as {
      open: boolean;
    };
    expect(state2.open).toBe(false);
    const third = await run();
    expect([second.status, third.status]).toEqual(['fail', 'fail']);

    await eventually(async () => {
      const res = await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.read });
      const state = (await res.json()) as { open: boolean; disabled_reason: string; disabled_by: string };
      expect(state.open).toBe(true);
      expect(state.disabled_by).toBe('circuit_breaker');
      expect(state.disabled_reason).toBe(
        `Canary failed 3 consecutive runs (threshold 3): ${first.run_id}, ${second.run_id}, ${third.run_id}`,
      );
    });
    await eventually(async () => {
      const incidents = (await (
        await t.call('GET', '/costsim/breakers/costsim_v2/incidents', { key: testKeys.read })
      ).json()) as { incidents: Array<{ severity: string; reason: string }> };
      expect(incidents.incidents[0]).toMatchObject({ severity: 'P2' });
    });
    // every run has its own CostSimCanaryFailed; the trip fires CostSimV2Disabled (p2)
    await eventually(async () => {
      const alerts = await am.alerts();
      const runIds = alerts
        .filter((a) => a.labels.alertname === 'CostSimCanaryFailed')
        .map((a) => a.labels.run_id);
      expect(runIds.sort()).toEqual([first.run_id, second.run_id, third.run_id].sort());
      expect(alerts.find((a) => a.labels.alertname === 'CostSimV2Disabled')?.labels.severity).toBe('p2');
    });
    // the history explains each step
    const history = (await (
      await t.call('GET', '/costsim/breakers/costsim_v2/history', { key: testKeys.read })
    ).json()) as { events: Array<{ type: string; data: Record<string, unknown> }> };
    expect(history.events.map((e) => e.type)).toEqual([
      'CanaryRunObserved',
      'CanaryRunObserved',
      'CanaryRunObserved',
      'BreakerTripped',
    ]);
    expect(history.events.map((e) => e.data.failures_before)).toEqual([0, 1, 2, 0]);
    expect(history.events[3]!.data).toMatchObject({ trigger: 'canary', severity: 'P2' });
  },
);
