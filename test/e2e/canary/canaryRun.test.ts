import { canaryReportsProjection } from '../../../src/projections/canary/canaryReportsProjection';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Canary runs over HTTP (docs/api.md canary rows, docs/domain.md §6): skipped with nothing to sample (no breaker
 * event, no alert), pass on matching sandbox traffic, reports by status / passed / run id, a rebuild of
 * canary_reports equal to the live table.
 */
interface Report {
  run_id: string;
  status: string;
  passed: boolean;
  total_samples: number;
  failure_reasons: string[];
  golden_comparison: Array<{ dataset_id: string; verdict: string }>;
  sources: { provenance_samples: number; dataset_samples: number };
  thresholds: Record<string, unknown>;
  paired_test: { n: number; p_value: number } | null;
}

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ COSTSIM_V2_SANDBOX: 'true' });
  const canary = t.service.canary;
  await eventually(async () => expect(canary.leadership.isLeader).toBe(true));
});
afterAll(async () => t.stop());

const run = async (body: unknown): Promise<Report> => {
  const res = await t.call('POST', '/costsim/canary/run', { key: testKeys.admin, body });
  expect(res.status).toBe(200);
  return (await res.json()) as Report;
};
const count = async (sql: string) => Number((await t.db.pool.query(sql)).rows[0].n);

test('no provenance and no datasets → skipped: recorded, but no breaker event and no alert', async () => {
  const breakerEventsBefore = await count(
    `select count(*) as n from es_events where stream_name like 'breaker-%'`,
  );
  const report = await run({ dataset_ids: [] });
  expect(report).toMatchObject({ status: 'skipped', passed: false, total_samples: 0 });
  expect(report.failure_reasons[0]).toMatch(/^Skipped: no samples/);
  await eventually(async () =>
    expect(
      (await t.call('GET', `/costsim/canary/reports/${report.run_id}`, { key: testKeys.read })).status,
    ).toBe(200),
  );
  expect(await count(`select count(*) as n from es_events where stream_name like 'breaker-%'`)).toBe(
    breakerEventsBefore,
  );
  expect(await count('select count(*) as n from alert_queue')).toBe(0);
});

test('matching sandbox traffic → pass; the report carries the thresholds and the paired test', async () => {
  for (let i = 0; i < 12; i++) {
    const res = await t.call('POST', '/costsim/v2/simulate', {
      key: testKeys.write,
      body: {
        plan: [{ skill: 'http_call', params: { url: `https://example.com/${i}` } }],
        budget_cents: 100,
      },
    });
    expect(res.status).toBe(200);
  }
  await eventually(async () =>
    expect(await count(`select count(*) as n from provenance where source = 'sandbox'`)).toBe(12),
  );
  const report = await run({ sample_count: 10, dataset_ids: [] });
  expect(report).toMatchObject({
    status: 'pass',
    passed: true,
    total_samples: 10,
    failure_reasons: [],
    sources: { provenance_samples: 10, dataset_samples: 0 },
    thresholds: { kl_divergence: 0.2, outlier_ratio: 0.05, major_ratio: 0.1, paired_alpha: null },
    paired_test: { n: 0, p_value: 1 },
  });
});

test('with the golden datasets: samples and the golden comparison in the report', async () => {
  const report = await run({ sample_count: 10 });
  expect(report.sources).toEqual({ provenance_samples: 10, dataset_samples: 84 });
  expect(report.total_samples).toBe(94);
  expect(report.golden_comparison.map((g) => [g.dataset_id, g.verdict])).toEqual([
    ['high_variance', 'acceptable'],
    ['historical', 'acceptable'],
    ['low_variance', 'acceptable'],
    ['mixed_city', 'acceptable'],
    ['noise_injected', 'acceptable'],
  ]);
  expect(['pass', 'fail']).toContain(report.status);
});

test('an unknown dataset id → 404, nothing recorded; a bad body → 400 naming the field', async () => {
  const before = await count(`select count(*) as n from es_events where event_type = 'CanaryRunStarted'`);
  const res = await t.call('POST', '/costsim/canary/run', {
    key: testKeys.admin,
    body: { dataset_ids: ['nope'] },
  });
  expect(res.status).toBe(404);
  expect(((await res.json()) as { detail: string }).detail).toBe('Dataset not found: nope');
  const bad = await t.call('POST', '/costsim/canary/run', { key: testKeys.admin, body: { sample_count: 5 } });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { errors: Array<{ path: string }> }).errors[0]!.path).toBe('sample_count');
  expect(await count(`select count(*) as n from es_events where event_type = 'CanaryRunStarted'`)).toBe(
    before,
  );
  expect((await t.call('POST', '/costsim/canary/run', { key: testKeys.tenantAAdmin, body: {} })).status).toBe(
    403,
  );
});

test('reports: by status and passed, newest first, total counts all; one by run id; 404 otherwise', async () => {
  await eventually(async () => expect(await count('select count(*) as n from canary_reports')).toBe(3));
  const list = async (q: string) =>
    (await (await t.call('GET', `/costsim/canary/reports${q}`, { key: testKeys.read })).json()) as {
      reports: Report[];
      total: number;
    };
  const all = await list('');
  expect(all.total).toBe(3);
  expect(all.reports[all.reports.length - 1]!.status).toBe('skipped'); // the oldest
  const skipped = await list('?status=skipped');
  expect(skipped.reports.map((r) => r.status)).toEqual(['skipped']);
  const passed = await list('?passed=true');
  expect(passed.reports.every((r) => r.passed)).toBe(true);
  expect(passed.total).toBe(all.reports.filter((r) => r.passed).length);
  const notPassed = await list('?passed=false&limit=1');
  expect(notPassed.reports).toHaveLength(1);
  expect(notPassed.total).toBe(all.reports.filter((r) => !r.passed).length);
  const one = await t.call('GET', `/costsim/canary/reports/${all.reports[0]!.run_id}`, {
    key: testKeys.read,
  });
  expect(((await one.json()) as Report).run_id).toBe(all.reports[0]!.run_id);
  expect((await t.call('GET', '/costsim/canary/reports/nope', { key: testKeys.read })).status).toBe(404);
  expect((await t.call('GET', '/costsim/canary/reports?status=bogus', { key: testKeys.read })).status).toBe(
    400,
  );
});

test('a rebuild of canary_reports equals the live table', async () => {
  const snapshot = async () =>
    (await t.db.pool.query('select * from canary_reports order by run_id')).rows.map((r) =>
      JSON.stringify(r),
    );
  const live = await snapshot();
  expect(live).toHaveLength(3);
  await rebuildProjection(t.db.pool, t.service.context.store, canaryReportsProjection);
  expect(await snapshot()).toEqual(live);
});
