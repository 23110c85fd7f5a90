import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { findExecutable } from '../../support/daemon';
import { testUnless } from '../../support/skippedByName';
import { REPO_ROOT, RULES_FILE, alertRules, parsePromql } from '../../support/monitoringQueries';

/**
 * deploy/prometheus/costsim-guard.rules.yml with the real promtool (Debian package `prometheus`):
 * `promtool check rules` accepts it, `promtool test rules` passes on deploy/prometheus/tests/, those tests
 * show every rule both firing and not firing, and a wrong expectation does fail them (they assert).
 */
jest.setTimeout(60_000); // promtool on a shared, busy machine

const run = promisify(execFile);
const promtool = findExecutable(process.env.PROMTOOL_BIN, ['/usr/bin/promtool'], ['promtool']);
if (!promtool)
  throw new Error(
    'promtool not found (PROMTOOL_BIN, /usr/bin/promtool or PATH): apt-get install -y prometheus',
  );
const TESTS_DIR = join(REPO_ROOT, 'deploy', 'prometheus', 'tests');
const testFiles = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join(TESTS_DIR, f));
const RUNBOOKS = [
  'breaker-tripped.md',
  'canary-failed.md',
  'alert-queue.md',
  'projection-stuck.md',
  'database-unreachable.md',
  'rebuild-projection.md',
];
const RUNBOOK_BASE = 'https://costsim-guard.example.com/docs/runbooks/';

test('promtool check rules accepts the rules file', async () => {
  const { stdout } = await run(promtool!, ['check', 'rules', RULES_FILE]);
  expect(stdout).toContain(`SUCCESS: ${alertRules().length} rules found`);
});

test('promtool test rules passes on every file of deploy/prometheus/tests', async () => {
  expect(testFiles.length).toBeGreaterThan(0);
  const { stdout } = await run(promtool!, ['test', 'rules', ...testFiles]);
  expect(stdout.match(/SUCCESS/g)).toHaveLength(testFiles.length);
});

test('every rule is shown firing and not firing by the promtool tests', () => {
  const firing = new Set<string>();
  const quiet = new Set<string>();
  for (const file of testFiles) {
    const doc = parse(readFileSync(file, 'utf8')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    };
    for (const t of doc.tests.flatMap((x) => x.alert_rule_test ?? [])) {
      ((t.exp_alerts ?? []).length > 0 ? firing : quiet).add(t.alertname);
    }
  }
  const names = alertRules().map((r) => r.alert);
  expect(names.filter((n) => !firing.has(n))).toEqual([]);
  expect(names.filter((n) => !quiet.has(n))).toEqual([]);
});

test('a promtool test with a wrong expectation fails (the tests do assert)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'costsim-promtool-'));
  try {
    const doc = parse(readFileSync(join(TESTS_DIR, 'breaker.test.yml'), 'utf8')) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test: Array<{ exp_alerts: Array<{ exp_labels: Record<string, string> }> }> }>;
    };
    doc.rule_files = [RULES_FILE];
    const firingCase = doc.tests[0]!.alert_rule_test.find((t) => t.exp_alerts.length > 0)!;
    firingCase.exp_alerts[0]!.exp_labels.severity = 'p9';
    const file = join(dir, 'wrong.test.yml');
    await writeFile(file, stringify(doc));
    const failed = await run(promtool!, ['test', 'rules', file]).then(
      () => null,
      (err: { stdout: string; stderr: string; code: number }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(`${failed?.stdout}${failed?.stderr}`).toMatch(/FAILED[\s\S]*p9/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('every rule says what it is, how bad, and links its runbook', () => {
  for (const r of alertRules()) {
    expect({ alert: r.alert, errors: parsePromql(r.expr).errors }).toEqual({ alert: r.alert, errors: [] });
    expect(r.alert).toMatch(/^CostSimGuard[A-Z][A-Za-z0-9]+$/);
    expect(r.labels.severity).toMatch(/^(p1|p2|p3|info)$/);
    expect(r.labels.component).toBe('costsim');
    expect(r.annotations.summary).toBeTruthy();
    expect(r.annotations.description).toBeTruthy();
    expect(r.annotations.runbook_url?.startsWith(RUNBOOK_BASE)).toBe(true);
    expect(RUNBOOKS).toContain(r.annotations.runbook_url!.slice(RUNBOOK_BASE.length));
  }
});

// The runbooks are written beside this work (docs/runbooks/); until they are on this branch the check
// that each linked file exists cannot run, and says so.
const runbookDir = join(REPO_ROOT, 'docs', 'runbooks');
testUnless(existsSync(runbookDir) ? null : 'docs/runbooks/ is not on this branch yet', __filename)(
  'every linked runbook exists in docs/runbooks/',
  () => {
    const linked = new Set(alertRules().map((r) => r.annotations.runbook_url!.slice(RUNBOOK_BASE.length)));
    for (const file of linked) expect(existsSync(join(runbookDir, file))).toBe(true);
  },
);
