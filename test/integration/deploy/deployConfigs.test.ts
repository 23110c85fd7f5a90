import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../../support/daemon';
import { REPO_ROOT } from '../../support/monitoringQueries';

/**
 * The shell scripts and the compose configs of the monitoring stack, checked by the real tools:
 * shellcheck (.ci/run and deploy/ci/*.sh), promtool (Prometheus config) and amtool (Alertmanager config).
 */
const run = promisify(execFile);
const tool = (name: string, envPath: string | undefined, hint: string) => {
  const found = findExecutable(envPath, [`/usr/bin/${name}`], [name]);
  if (!found) throw new Error(`${name} not found: ${hint}`);
  return found;
};

test('shellcheck: .ci/run and deploy/ci/*.sh are clean', async () => {
  const scripts = [
    '.ci/run',
    ...readdirSync(join(REPO_ROOT, 'deploy', 'ci'))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => `deploy/ci/${f}`),
  ];
  expect(scripts.length).toBeGreaterThan(1);
  const shellcheck = tool('shellcheck', process.env.SHELLCHECK_BIN, 'apt-get install -y shellcheck');
  const { stdout } = await run(shellcheck, scripts, { cwd: REPO_ROOT });
  expect(stdout).toBe('');
});

test("promtool: compose's Prometheus config is valid", async () => {
  const promtool = tool('promtool', process.env.PROMTOOL_BIN, 'apt-get install -y prometheus');
  const { stdout } = await run(promtool, [
    'check',
    'config',
    // --syntax-only: the rule file path is the container's (compose.yaml writes it at start).
    '--syntax-only',
    join(REPO_ROOT, 'deploy', 'prometheus', 'prometheus.compose.yml'),
  ]);
  expect(stdout).toContain('SUCCESS');
});

test("amtool: compose's Alertmanager config is valid, with its inhibit rule", async () => {
  const amtool = tool('amtool', process.env.AMTOOL_BIN, 'apt-get install -y prometheus-alertmanager');
  const { stdout } = await run(amtool, [
    'check-config',
    join(REPO_ROOT, 'deploy', 'alertmanager', 'alertmanager.yml'),
  ]);
  expect(stdout).toContain('SUCCESS');
  expect(stdout).toContain('1 inhibit rules');
});
