import { createHash } from 'node:crypto';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * The recovery gate end to end (COSTSIM_RECOVERY_REQUIRES_CANARY=true): TTL passes → half-open (V2 still
 * off) → a passing canary closes it; next time a failing canary keeps it open with the TTL extended and an
 * alert saying why; the history explains each step.
 */
jest.setTimeout(90_000);

let am: RunningAlertmanager;
let t: TestService;
beforeAll(async () => {
  am = await startAlertmanager();
  t = await startTestService({
    COSTSIM_V2_SANDBOX: 'true',
    COSTSIM_RECOVERY_REQUIRES_CANARY: 'true',
    COSTSIM_CANARY_DATASETS: 'none',
    ALERTMANAGER_URL: am.url,
    ALERT_DELIVERY_POLL_MS: '50',
    INSTANCE_ID: 'recovery-e2e',
  });
  const canary = t.service.canary;
  await eventually(async () => expect(canary.leadership.isLeader).toBe(true));
});
afterAll(async () => {
  await t?.stop();
  await am?.stop();
});

interface HistoryEvent {
  type: string;
  actor: string;
  data: Record<string, unknown>;
}
const history = async () =>
  (
    (await (await t.call('GET', '/costsim/breakers/costsim_v2/history', { key: testKeys.read })).json()) as {
      events: HistoryEvent[];
    }
  ).events;
const state = async () =>
  (await (await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.read })).json()) as {
    open: boolean;
    disabled_until: string | null;
  };
const simulate = async (skill: string, i: number) => {
  const res = await t.call('POST', '/costsim/v2/simulate', {
    key: testKeys.write,
    body: { plan: [{ skill, params: { url: `https://example.com/${i}` } }], budget_cents: 100 },
  });
  return (await res.json()) as { v2_result?: unknown; v2_error?: string };
};
const disableBriefly = async (reason: string) => {
  const res = await t.call('POST', '/costsim/breakers/costsim_v2/disable', {
    key: testKeys.admin,
    body: { reason, ttl_hours: 2 / 3600 }, // 2 s
  });
  expect(res.status).toBe(200);
};

testWithAlertmanager(
  'TTL → half-open (V2 still off) → passing canary closes; then a failing canary keeps it open, TTL extended, alert says why',
  async () => {
    // matching sandbox traffic for the canary to sample
    // (each until V2 answers: on a loaded machine a replica's V2 gate may fail closed for a moment, and a
    // V1-only answer records no pair)
    for (let i = 0; i < 12; i++)
      await eventually(async () => expect((await simulate('http_call', i)).v2_result).toBeDefined());
    await eventually(async () =>
      expect((await t.db.pool.query('select count(*)::int as n from provenance')).rows[0].n).toBe(12),
    );

    // 1. half-open, then the recovery canary passes and closes it
    await disableBriefly('first cycle');
    await eventually(async () => expect((await state()).open).toBe(false), 20_000, 100);
    // after the sandbox traffic's 12 DriftObserved
    const first = (await history()).slice(12);
    const firstTypes = first.map((e) => e.type);
    expect(firstTypes).toEqual([
      'BreakerTripped',
      'BreakerHalfOpened',
      'CanaryRunObserved',
      'BreakerEnabled',
    ]);
    expect(first[1]!.data.reason).toBe(
      'TTL expired: half-open, V2 stays off until a canary run passes (COSTSIM_RECOVERY_REQUIRES_CANARY)',
    );
    expect(first[2]!.data).toMatchObject({ status: 'pass', breaker_open: true });
    expect(first[3]!.data).toMatchObject({ resolved_by: 'canary-recovery' });
    expect(String(first[3]!.data.resolution_notes)).toMatch(
      /^Recovered: canary run .+ passed after the TTL expired$/,
    );
    // canary_reports is a projection: the report is there once the projector has applied the run's event.
    await eventually(async () => {
      const passed = (await (
        await t.call('GET', `/costsim/canary/reports/${String(first[2]!.data.run_id)}`, {
          key: testKeys.read,
        })
      ).json()) as { trigger: string; status: string };
      expect(passed).toMatchObject({ trigger: 'recovery', status: 'pass' });
    });

    // 2. V2 is now wrong on the recorded traffic; while half-open, V2 stays off (fail closed)
    const records = Array.from({ length: 12 }, (_, i) => ({
      variant_slug: 'v2',
      source: 'sandbox',
      input_hash: createHash('sha256').update(`teleport-${i}`).digest('hex'),
      v1_cost: 10,
      v2_cost: 5,
      drift_score: 0.3,
      verdict: 'mismatch',
      payload: { input: { plan: [{ skill: 'teleport' }], budget_cents: 100 } },
    }));
    expect(
      (await t.call('POST', '/costsim/provenance', { key: testKeys.write, body: { records } })).status,
    ).toBe(201);
    await eventually(async () =>
      expect((await t.db.pool.query('select count(*)::int as n from provenance')).rows[0].n).toBe(24),
    );
    await disableBriefly('second cycle');
    const deferred = await eventually(
      async () => {
        const events = await history();
        const found = events.find((e) => e.type === 'BreakerRecoveryDeferred');
        expect(found).toBeDefined();
        return { events, found: found! };
      },
      20_000,
      100,
    );
    const second = deferred.events.slice(12 + first.length).map((e) => e.type);
    expect(second).toEqual([
      'BreakerTripped',
      'BreakerHalfOpened',
      'CanaryRunObserved',
      'BreakerRecoveryDeferred',
    ]);
    expect(String(deferred.found.data.reason)).toMatch(
      /^Recovery blocked: canary run .+ ended fail; V2 stays off, TTL extended to .+$/,
    );
    const open = await state();
    expect(open.open).toBe(true);
    // extended by COSTSIM_DISABLE_TTL_HOURS (24 h) from the deferral
    expect(Date.parse(open.disabled_until!) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    const status = (await (await t.call('GET', '/costsim/v2/status', { key: testKeys.read })).json()) as {
      circuit_breaker_open: boolean;
    };
    expect(status.circuit_breaker_open).toBe(true);
    expect((await simulate('http_call', 99)).v2_result).toBeUndefined();

    // the alert says why
    const alert = await eventually(async () => {
      const found = (await am.alerts()).find((a) => a.labels.alertname === 'CostSimV2RecoveryBlocked');
      expect(found).toBeDefined();
      return found!;
    });
    expect(alert.labels).toMatchObject({ severity: 'p2', circuit_breaker: 'costsim_v2' });
    expect(alert.annotations.description).toContain('Recovery blocked: canary run');
    expect(alert.annotations.run_id).toBe(deferred.found.data.run_id);
  },
);
