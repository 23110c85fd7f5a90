import { request } from 'undici';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { eventually } from '../../support/eventually';
import {
  RULES_FILE,
  alertRules,
  dashboardQueries,
  metricFamily,
  parsePromql,
  registeredMetricNames,
  withGrafanaVariables,
} from '../../support/monitoringQueries';
import { type RunningPrometheus, type Sample, startPrometheus } from '../../support/prometheus';
import { freePort } from '../../support/quietServe';
import { testUnless } from '../../support/skippedByName';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * The dashboard and the alert rules against a REAL Prometheus (Debian's /usr/bin/prometheus) scraping the
 * real service every second, with the rules file loaded: after real traffic (sandbox simulations, drift
 * reports, trips of each severity, alert deliveries to a real Alertmanager and to a dead one, a projection
 * made to fail for a moment), every dashboard query and every rule expression, read from the committed
 * files, is evaluated through /api/v1/query and must return data — so no metric or label is misspelled —
 * and the breaker-open rules fire after the trips (in Prometheus and in Alertmanager).
 *
 * How "returns data" is judged:
 * - a dashboard query must return at least one series with a finite value (Grafana's interval variables
 *   replaced by a 10-minute window, longer than this file runs, so every rate has samples);
 * - a rule's expression returns nothing while what it watches is healthy (a threshold, `unless`), so when
 *   the whole expression is empty, EACH vector selector in it (metric and label matchers, exactly as
 *   written, taken apart with Prometheus's grammar) must return data instead: that is what proves the
 *   names and labels are the service's. A rule that fires here is shown as such in the log.
 * - a query on a metric this branch's code does not register at all is not silently passed: its test is
 *   SKIPPED by name, with "metric not yet exported: …" (the lead sees what is missing). A metric that is
 *   registered but has no series after the traffic is a failure, not a skip.
 */
jest.setTimeout(120_000);

const METRICS_TOKEN = 'prometheus-e2e-metrics-token-0123456789';
const WINDOW = '10m';
const registered = registeredMetricNames();
const unexported = (expr: string) =>
  [...new Set(parsePromql(expr).metrics.map((m) => metricFamily(m, registered)))].filter(
    (family) => !registered.has(family),
  );
const skipReason = (expr: string) => {
  const missing = unexported(expr);
  return missing.length ? `metric not yet exported: ${missing.join(', ')}` : null;
};
const finite = (samples: Sample[]) => samples.filter((s) => Number.isFinite(Number(s.value[1])));

let am: RunningAlertmanager;
let t: TestService;
let prom: RunningPrometheus;
const ruleOutcomes: string[] = [];

async function post(path: string, body: unknown, key: string = testKeys.admin): Promise<unknown> {
  const res = await t.call('POST', path, { key, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

async function scrape(): Promise<string> {
  const { body } = await request(`${t.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  return body.text();
}

/** Resolves once Prometheus has stored a scrape of the service taken after `since` (ms since the epoch). */
async function scrapedAfter(since: number): Promise<void> {
  await eventually(
    async () => {
      const [up] = await prom.query('timestamp(up{job="costsim-guard"})');
      expect(Number(up?.value[1] ?? 0) * 1000).toBeGreaterThan(since);
    },
    30_000,
    200,
  );
}

/**
 * A second, lighter round of the counters' traffic, after Prometheus has seen the first: a rate needs two
 * samples of a series with an increase between them. On a loaded machine the whole first round can fall
 * between two scrapes, so every counter's first sample already holds its final value and its rate is 0
 * (a histogram_quantile of all-zero rates is NaN, no data).
 */
async function driveSecondRound(): Promise<void> {
  await scrapedAfter(Date.now());
  const simulate = (plan: unknown[]) =>
    post('/costsim/v2/simulate', { plan, budget_cents: 100 }, testKeys.write);
  for (let i = 0; i < 3; i++) await simulate([{ skill: 'kv_get' }]);
  await post('/costsim/breakers/pricing/drift', { drift_score: 0.5, sample_count: 10 }, testKeys.write);
  await post('/costsim/breakers/manual-cycle/disable', { reason: 'prometheus e2e', ttl_hours: 0 });
  await post('/costsim/breakers/manual-cycle/enable', { reason: 'done again' });
  await post('/costsim/canary/run', {});
  await scrapedAfter(Date.now());
}

/** Traffic that gives every metric of the service series (and the breaker-open rules something to see). */
async function driveTraffic(): Promise<void> {
  const simulate = (plan: unknown[]) =>
    post('/costsim/v2/simulate', { plan, budget_cents: 100 }, testKeys.write);
  // The provenance projection fails for a moment (its table renamed away): its batches fail and are
  // retried (costsim_projector_failures_total), then it catches up once the table is back.
  // First, while the breaker is closed and V2 runs (each pair is written as provenance).
  await t.db.pool.query('alter table provenance rename to provenance_hidden_by_test');
  try {
    await simulate([{ skill: 'kv_get' }]);
    await eventually(
      async () =>
        expect(await scrape()).toMatch(/costsim_projector_failures_total\{[^}]*projection="provenance"/),
      30_000,
      100,
    );
  } finally {
    await t.db.pool.query('alter table provenance_hidden_by_test rename to provenance');
  }
  await eventually(
    async () =>
      expect(await scrape()).toMatch(/costsim_projector_lag_events\{[^}]*projection="provenance"[^}]*\} 0\b/),
    30_000,
    100,
  );

  // V1/V2 pairs: matches, a minor drift, then three major drifts in a row: a P1 trip of costsim_v2.
  for (const plan of [
    [{ skill: 'kv_get' }],
    [{ skill: 'kv_get' }],
    [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }],
  ]) {
    await simulate(plan);
  }
  for (let i = 0; i < 3; i++) await simulate([{ skill: 'teleport' }]);
  await simulate([{ skill: 'kv_get' }]); // V2 no longer runs: V1 alone
  // Drift reports to another breaker (one failure counted, no trip).
  await post('/costsim/breakers/pricing/drift', { drift_score: 0.5, sample_count: 10 }, testKeys.write);
  // A manual disable of a tenant's breaker (P2, left open), and one opened and closed again.
  await post('/costsim/breakers/costsim_v2/disable?tenant_id=tenant-a', {
    reason: 'prometheus e2e',
    ttl_hours: 0,
  });
  await post('/costsim/breakers/manual-cycle/disable', { reason: 'prometheus e2e', ttl_hours: 0 });
  await post('/costsim/breakers/manual-cycle/enable', { reason: 'done' });
  // Schema errors at the threshold: a P3 trip.
  await post('/costsim/breakers/schema-check/schema-errors', { error_count: 5 }, testKeys.write);
  // A canary run over the recorded sandbox pairs and the golden datasets (runs, KL, last run, golden
  // drift per dataset); the service leads the canary moments after it starts.
  await eventually(
    async () =>
      expect(((await post('/costsim/canary/run', {})) as { status: string }).status).not.toBe('skipped'),
    15_000,
    100,
  );

  // The alert queue has worked: deliveries to the real Alertmanager, failures and re-assertion failures
  // toward the dead one.
  await eventually(
    async () => {
      const text = await scrape();
      expect(text).toMatch(/costsim_alerts_delivered_total\{[^}]*alert_type="disable"/);
      expect(text).toMatch(/costsim_alerts_delivered_total\{[^}]*alert_type="enable"/);
      expect(text).toMatch(/costsim_alerts_failed_total\{/);
      expect(text).toMatch(/costsim_alerts_reasserted_total\{[^}]*ok="false"/);
      expect(text).toMatch(/costsim_alerts_reasserted_total\{[^}]*ok="true"/);
    },
    30_000,
    100,
  );
}

beforeAll(async () => {
  am = await startAlertmanager();
  const deadPort = await freePort(); // nothing listens there: every send to it fails (and is retried)
  t = await startTestService({
    COSTSIM_V2_SANDBOX: 'true',
    COSTSIM_BREAKERS: 'pricing,manual-cycle,schema-check',
    COSTSIM_METRICS_TOKEN: METRICS_TOKEN,
    ALERTMANAGER_URL: `${am.url},http://127.0.0.1:${deadPort}`,
    ALERTMANAGER_TIMEOUT: '1',
    ALERT_DELIVERY_POLL_MS: '50',
    ALERT_RESEND_INTERVAL: '1',
    INSTANCE_ID: 'prometheus-e2e',
  });
  prom = await startPrometheus({
    targets: [{ url: t.url, job: 'costsim-guard', bearerToken: METRICS_TOKEN }],
    ruleFiles: [RULES_FILE],
    intervalSeconds: 1,
    alertmanagerUrl: am.url,
  });
  await eventually(
    async () =>
      expect(await prom.targetHealth()).toEqual([{ job: 'costsim-guard', health: 'up', lastError: '' }]),
    30_000,
    200,
  );
  // Rules have been evaluated on a scrape of the healthy service: no breaker-open alert yet.
  await eventually(
    async () => expect((await prom.query('costsim_projector_leader')).length).toBe(1),
    30_000,
    200,
  );
  await new Promise((r) => setTimeout(r, 2_500));
  expect(
    (await prom.alerts()).filter((a) => a.labels.alertname?.startsWith('CostSimGuardBreakerOpen')),
  ).toEqual([]);
  await driveTraffic();
  await driveSecondRound();
}, 180_000);

afterAll(async () => {
  if (ruleOutcomes.length)
    process.stdout.write(`rule expressions against the real Prometheus:\n  ${ruleOutcomes.join('\n  ')}\n`);
  await prom?.stop();
  await t?.stop();
  await am?.stop();
});

test('the costsim metrics this code registers are exactly the families /metrics exports', async () => {
  const text = await scrape();
  const exported = new Set([...text.matchAll(/^# TYPE (costsim_[a-z0-9_]+) /gm)].map((m) => m[1]!));
  expect([...exported].sort()).toEqual([...registered].sort());
});

test('every exported costsim metric has a dashboard panel', () => {
  const used = new Set(
    dashboardQueries().flatMap((q) =>
      parsePromql(withGrafanaVariables(q.expr)).metrics.map((m) => metricFamily(m, registered)),
    ),
  );
  expect([...registered].filter((name) => !used.has(name))).toEqual([]);
});

describe('every dashboard query returns data', () => {
  const cases = dashboardQueries().map((q) => ({ ...q, promql: withGrafanaVariables(q.expr, WINDOW) }));
  for (const q of cases) {
    testUnless(skipReason(q.promql), __filename)(`${q.panel} [${q.refId}]: ${q.expr}`, async () => {
      await eventually(
        async () => expect(finite(await prom.query(q.promql)).length).toBeGreaterThan(0),
        20_000,
        250,
      );
    });
  }
});

describe('every rule expression returns data, or else each of its selectors does', () => {
  for (const rule of alertRules()) {
    testUnless(skipReason(rule.expr), __filename)(rule.alert, async () => {
      const whole = await prom.query(rule.expr);
      if (whole.length > 0) {
        ruleOutcomes.push(
          `${rule.alert}: the expression itself returns ${whole.length} series (the rule is firing or pending)`,
        );
        return;
      }
      const { selectors } = parsePromql(rule.expr);
      expect(selectors.length).toBeGreaterThan(0);
      for (const selector of selectors) {
        await eventually(
          async () =>
            expect({ selector, series: (await prom.query(selector)).length > 0 }).toEqual({
              selector,
              series: true,
            }),
          20_000,
          250,
        );
      }
      ruleOutcomes.push(
        `${rule.alert}: quiet (healthy); each selector returns data: ${selectors.join(', ')}`,
      );
    });
  }
});

test('the breaker-open rules fire after the trips, one alert per breaker and severity, and reach Alertmanager', async () => {
  const expected = [
    {
      alertname: 'CostSimGuardBreakerOpenP1',
      circuit_breaker: 'costsim_v2',
      tenant_id: undefined,
      severity: 'p1',
    },
    {
      alertname: 'CostSimGuardBreakerOpenP2',
      circuit_breaker: 'costsim_v2',
      tenant_id: 'tenant-a',
      severity: 'p2',
    },
    {
      alertname: 'CostSimGuardBreakerOpenP3',
      circuit_breaker: 'schema-check',
      tenant_id: undefined,
      severity: 'p3',
    },
  ];
  const firing = await eventually(
    async () => {
      const alerts = (await prom.alerts()).filter((a) =>
        a.labels.alertname?.startsWith('CostSimGuardBreakerOpen'),
      );
      const seen = alerts.map((a) => ({
        alertname: a.labels.alertname,
        circuit_breaker: a.labels.circuit_breaker,
        tenant_id: a.labels.tenant_id,
        severity: a.labels.severity,
        state: a.state,
      }));
      expect(seen.sort((a, b) => a.alertname!.localeCompare(b.alertname!))).toEqual(
        expected.map((e) => ({ ...e, state: 'firing' })),
      );
      return alerts;
    },
    30_000,
    250,
  );
  for (const a of firing)
    expect(a.annotations.runbook_url).toBe(
      'https://costsim-guard.example.com/docs/runbooks/breaker-tripped.md',
    );
  // The ALERTS series says the same.
  expect(
    (await prom.query('ALERTS{alertname="CostSimGuardBreakerOpenP1", alertstate="firing"}')).map(
      (s) => s.metric.circuit_breaker,
    ),
  ).toEqual(['costsim_v2']);
  // Prometheus sent them on to the real Alertmanager (beside the service's own CostSimV2Disabled).
  await eventually(
    async () => {
      const names = new Set((await am.alerts()).map((a) => a.labels.alertname));
      for (const e of expected) expect(names).toContain(e.alertname);
      expect(names).toContain('CostSimV2Disabled');
    },
    30_000,
    250,
  );
  // The manually cycled breaker is closed again: no alert for it.
  expect(firing.map((a) => a.labels.circuit_breaker)).not.toContain('manual-cycle');
});
