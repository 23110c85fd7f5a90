import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Tests find their real components or say why not: on a machine with no Alertmanager binary and no
 * container runtime, the alert tests are reported skipped, by name and with the reason, the closing line
 * counts them, and the run still passes. Shown by running jest itself on two alert test files with
 * ALERTMANAGER_BIN pointing nowhere, PATH empty and DOCKER_HOST at a socket that does not exist.
 */
const root = join(__dirname, '..', '..');

test('no Alertmanager and no container runtime: alert tests skipped by name with the reason, and counted', () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ALERTMANAGER_BIN: '/nonexistent/alertmanager',
    PATH: '',
    DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    TESTCONTAINERS_RYUK_DISABLED: 'true',
  };
  delete env.COSTSIM_TEST_ALERTMANAGER; // discover afresh, as a new run does
  delete env.JEST_WORKER_ID;
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--ci',
      '--selectProjects',
      'e2e',
      'integration',
      '--',
      'test/e2e/alerts/alertDriftWarning.test.ts',
      'test/integration/alertmanager/alertmanagerClient.test.ts',
    ],
    { cwd: root, env, encoding: 'utf8', timeout: 120_000 },
  );
  const output = `${run.stdout}\n${run.stderr}`;
  expect({ status: run.status, tail: output.slice(-3000) }).toEqual({ status: 0, tail: expect.any(String) });

  const reason =
    'no Alertmanager: ALERTMANAGER_BIN=/nonexistent/alertmanager is not an executable file; no container runtime';
  const listed = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('  - '))
    .map((l) => l.slice(4));
  // By name, with the reason: the e2e drift-warning test and the real-Alertmanager client tests.
  expect(listed).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^drift over the threshold with auto-disable off.*\[skipped: no Alertmanager/),
      expect.stringMatching(/^AlertmanagerClient against a real Alertmanager \[skipped: no Alertmanager/),
    ]),
  );
  for (const name of listed) expect(name).toContain(reason);
  // The closing line counts them; the fault tests that need no Alertmanager still ran and passed.
  const closing = /^tests: (\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(run.stdout);
  expect(closing).not.toBeNull();
  const [, passed, failed, skipped] = closing!.map(Number);
  expect({ failed, skipped }).toEqual({ failed: 0, skipped: listed.length });
  expect(passed).toBeGreaterThan(0);
  expect(run.stdout).toContain(`skipped (${listed.length}):`);
}, 150_000);
