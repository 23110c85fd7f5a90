import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { CLI } from '../../support/serveProcess';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/** `costsim-guard datasets list|validate [id]` and `costsim-guard canary run` as operators run them. */
jest.setTimeout(60_000); // each step spawns the CLI (tsx): seconds on a loaded machine

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('datasets list: the five built-in datasets', () => {
  const run = cli(['datasets', 'list', '--json']);
  expect(run.status).toBe(0);
  const rows = JSON.parse(run.stdout) as Array<{ id: string; sample_count: number }>;
  expect(rows.map((r) => [r.id, r.sample_count])).toEqual([
    ['high_variance', 16],
    ['historical', 5],
    ['low_variance', 30],
    ['mixed_city', 25],
    ['noise_injected', 8],
  ]);
});

test('datasets validate: all acceptable (exit 0); a wrong file names its metric (exit 1); a bad file is named', () => {
  const all = cli(['datasets', 'validate', '--json']);
  expect(all.status).toBe(0);
  expect(JSON.parse(all.stdout).all_passed).toBe(true);

  const dir = mkdtempSync(join(tmpdir(), 'costsim-cli-datasets-'));
  const wrong = JSON.parse(readFileSync(join(__dirname, '../../../datasets/low_variance.json'), 'utf8'));
  wrong.id = 'low_variance_wrong';
  wrong.samples[0].expected_cost_cents += 25;
  writeFileSync(join(dir, 'wrong.json'), JSON.stringify(wrong));
  writeFileSync(
    join(dir, 'broken.json'),
    JSON.stringify({ id: 'broken', name: 'x', thresholds: {}, samples: [] }),
  );
  const one = cli(['datasets', 'validate', 'low_variance_wrong'], { COSTSIM_DATASETS_DIR: dir });
  expect(one.status).toBe(1);
  expect(one.stdout).toMatch(/^low_variance_wrong: not_acceptable/);
  // 25¢ off on one of 30 samples: mean 0.83 stays within 1, the spread does not
  expect(one.stdout).toMatch(/\n {2}std_deviation [\d.]+ > 2\n/);
  expect(one.stderr).toMatch(/dataset file rejected: .*broken\.json: thresholds\.max_mean_error: /);
  expect(cli(['datasets', 'validate', 'nope']).status).toBe(4);
});

test('canary run: a run in the log (exit 0 on pass); skipped with the leader reason while the lock is held', async () => {
  const run = cli(['canary', 'run', '--datasets', '', '--json']);
  // no provenance, no datasets: skipped (exit 1: not a pass)
  expect(run.status).toBe(1);
  expect(JSON.parse(run.stdout)).toMatchObject({ status: 'skipped', trigger: 'cli' });

  const withDatasets = cli(['canary', 'run', '--datasets', 'historical,mixed_city', '--json']);
  const report = JSON.parse(withDatasets.stdout) as { status: string; run_id: string; total_samples: number };
  expect(report.total_samples).toBe(30);
  expect(withDatasets.status).toBe(report.status === 'pass' ? 0 : 1);
  const { rows } = await db.pool.query(
    `select count(*)::int as n from es_events where event_type = 'CanaryRunCompleted' and data->'report'->>'run_id' = $1`,
    [report.run_id],
  );
  expect(rows[0].n).toBe(1);

  // another instance holds lock 7001
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  try {
    await holder.query('select pg_advisory_lock(7001)');
    const skipped = cli(['canary', 'run', '--json']);
    expect(JSON.parse(skipped.stdout)).toMatchObject({
      status: 'skipped',
      failure_reasons: ['Skipped: another instance is the leader'],
    });
  } finally {
    await holder.end();
  }
});
