import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capturingLogger } from '../../support/logCapture';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Golden datasets over HTTP (docs/api.md dataset rows, docs/domain.md §6): the five built-in ones validate, a
 * deliberately wrong expected cost is not_acceptable naming its metric, a malformed file is reported by
 * name at start-up while the service starts with the others.
 */
const BUILTIN = ['high_variance', 'historical', 'low_variance', 'mixed_city', 'noise_injected'];
const builtin = (id: string) =>
  JSON.parse(readFileSync(join(__dirname, '../../../datasets', `${id}.json`), 'utf8'));

let t: TestService;
let logLines: Array<Record<string, unknown>>;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'costsim-datasets-'));
  // a copy of `historical` whose first expected cost is off by 40¢
  const wrong = builtin('historical');
  wrong.id = 'historical_wrong_cost';
  wrong.samples[0].expected_cost_cents = 40;
  writeFileSync(join(dir, 'wrong_cost.json'), JSON.stringify(wrong));
  // malformed: a budget that is not an integer
  const bad = builtin('historical');
  bad.id = 'bad_budget';
  bad.samples[3].budget_cents = 'lots';
  writeFileSync(join(dir, 'bad_budget.json'), JSON.stringify(bad));
  writeFileSync(join(dir, 'not_json.json'), '{ "id": ');
  const captured = capturingLogger('info');
  logLines = captured.lines;
  t = await startTestService({ COSTSIM_DATASETS_DIR: dir, LOG_LEVEL: 'info' }, undefined, {
    logger: captured.logger,
  });
});
afterAll(async () => t.stop());

test('the five built-in datasets and the operator one are listed with their sample counts and thresholds', async () => {
  const res = await t.call('GET', '/costsim/datasets', { key: testKeys.read });
  expect(res.status).toBe(200);
  const list = (await res.json()) as Array<{ id: string; sample_count: number; thresholds: object }>;
  expect(list.map((d) => d.id)).toEqual([...BUILTIN, 'historical_wrong_cost']);
  const counts = Object.fromEntries(list.map((d) => [d.id, d.sample_count]));
  expect(counts).toMatchObject({
    low_variance: 30,
    high_variance: 16,
    mixed_city: 25,
    noise_injected: 8,
    historical: 5,
  });
  expect(list.find((d) => d.id === 'low_variance')!.thresholds).toEqual({
    max_mean_error: 1.0,
    max_median_error: 0.5,
    max_std_deviation: 2.0,
    max_outlier_pct: 0.02,
    max_drift_score: 0.05,
  });
});

test('GET one dataset; an unknown id is 404 "Dataset not found: <id>"', async () => {
  const one = await t.call('GET', '/costsim/datasets/mixed_city', { key: testKeys.read });
  expect(one.status).toBe(200);
  expect(((await one.json()) as { samples: unknown[] }).samples).toHaveLength(25);
  const missing = await t.call('GET', '/costsim/datasets/nope', { key: testKeys.read });
  expect(missing.status).toBe(404);
  expect(missing.headers.get('content-type')).toMatch(/problem\+json/);
  expect(((await missing.json()) as { detail: string }).detail).toBe('Dataset not found: nope');
});

test.each(BUILTIN)(
  'built-in dataset %s validates through POST /costsim/datasets/{id}/validate',
  async (id) => {
    const res = await t.call('POST', `/costsim/datasets/${id}/validate`, { key: testKeys.admin });
    expect(res.status).toBe(200);
    const r = (await res.json()) as Record<string, unknown> & { details: { exceeded: unknown[] } };
    expect(r).toMatchObject({ dataset_id: id, verdict: 'acceptable' });
    for (const metric of ['mean_error', 'median_error', 'std_deviation', 'outlier_pct', 'drift_score']) {
      expect(typeof r[metric]).toBe('number');
    }
    expect(r.details.exceeded).toEqual([]);
  },
);

test('a wrong expected cost → not_acceptable, naming the metrics over their thresholds', async () => {
  const res = await t.call('POST', '/costsim/datasets/historical_wrong_cost/validate', {
    key: testKeys.admin,
  });
  const r = (await res.json()) as {
    verdict: string;
    mean_error: number;
    details: { exceeded: Array<{ metric: string; value: number; threshold: number }> };
  };
  expect(r.verdict).toBe('not_acceptable');
  // the only sample with an expected cost (0¢, V2 0¢) now expects 40¢: mean = median = 40, std 0
  expect(r.mean_error).toBe(40);
  expect(r.details.exceeded.map((e) => e.metric)).toEqual(['mean_error', 'median_error', 'drift_score']);
  expect(r.details.exceeded[0]).toEqual({ metric: 'mean_error', value: 40, threshold: 5 });
});

test('validate-all: every dataset, all_passed false because of the wrong one', async () => {
  const res = await t.call('POST', '/costsim/datasets/validate-all', { key: testKeys.admin });
  const body = (await res.json()) as {
    all_passed: boolean;
    results: Array<{ dataset_id: string; verdict: string }>;
  };
  expect(body.all_passed).toBe(false);
  expect(body.results.filter((r) => r.verdict === 'not_acceptable').map((r) => r.dataset_id)).toEqual([
    'historical_wrong_cost',
  ]);
});

test('validation needs an admin key', async () => {
  expect((await t.call('POST', '/costsim/datasets/historical/validate', { key: testKeys.read })).status).toBe(
    403,
  );
});

test('malformed dataset files are reported by name (with the wrong field) at start-up; the service started', () => {
  const rejected = logLines.filter((l) => typeof l.dataset_file === 'string');
  const byFile = Object.fromEntries(
    rejected.map((l) => [String(l.dataset_file).split('/').pop(), String(l.problem)]),
  );
  expect(byFile['bad_budget.json']).toMatch(/^samples\.3\.budget_cents: /);
  expect(byFile['not_json.json']).toMatch(/^not JSON/);
  expect(Object.keys(byFile).sort()).toEqual(['bad_budget.json', 'not_json.json']);
});
