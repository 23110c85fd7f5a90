import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { CLI, startServe } from '../support/serveProcess';
import { eventually } from '../support/eventually';

/**
 * First use on a fresh machine (issue #11): `npm start` runs serve on the embedded PostgreSQL with a
 * random port; while it runs, CLI commands with no DATABASE_URL answer from it (DATA_DIR/service.json)
 * instead of starting a second embedded PostgreSQL on the same data directory; once it stops they say so.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'costsim-cli-e2e-'));
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const env = { DATA_DIR: dataDir, DATABASE_URL: '', COSTSIM_API_KEYS: '', COSTSIM_API_KEYS_FILE: '' };
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('while serve runs on the embedded database, the CLI answers from it; after it stops, it says so', async () => {
  const serve = await startServe(env, 90_000);
  try {
    // The address line follows the service's own "serving" log line, which startServe waits for.
    await eventually(() => expect(serve.output()).toContain(`serving on ${serve.url}`));
    const record = join(dataDir, 'service.json');
    expect(statSync(record).mode & 0o777).toBe(0o600); // it holds the database password: owner only

    const status = cli('projections', 'status', '--json');
    expect({ code: status.status, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
    const statuses = JSON.parse(status.stdout) as Array<{ name: string }>;
    expect(statuses.map((s) => s.name)).toEqual(expect.arrayContaining(['cb_state', 'cb_incidents']));
    expect(cli('projections', 'status').stderr).toContain(`using the service running at ${serve.url}`);

    const list = cli('breakers', 'list', '--json');
    expect(list.status).toBe(0);
    expect(
      (JSON.parse(list.stdout) as { breakers: Array<{ name: string; open: boolean }> }).breakers,
    ).toEqual([expect.objectContaining({ name: 'costsim_v2', open: false })]);

    // On-call work through the same command handlers, recorded as cli:<os user>; the service sees it.
    const disabled = cli(
      'breakers',
      'disable',
      'costsim_v2',
      '--reason',
      'paged at 3am',
      '--ttl-hours',
      '2',
      '--json',
    );
    expect({ code: disabled.status, stderr: disabled.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(disabled.stdout)).toMatchObject({ changed: true, state: { open: true, version: 1 } });
    const key = /generated an admin key[^\n]*\n\s+(csg_\S+)/.exec(serve.output())![1]!;
    const state = await fetch(`${serve.url}/costsim/breakers/costsim_v2?min_version=1`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(await state.json()).toMatchObject({
      open: true,
      disabled_reason: 'paged at 3am',
      disabled_by: `cli:${userInfo().username}`,
    });
    const history = JSON.parse(cli('breakers', 'history', 'costsim_v2', '--json').stdout) as {
      events: Array<{ type: string; actor: string }>;
    };
    expect(history.events.map((e) => [e.type, e.actor])).toEqual([
      ['BreakerTripped', `cli:${userInfo().username}`],
    ]);
    expect(cli('breakers', 'enable', 'costsim_v2', '--reason', 'fixed').stdout).toContain('enabled');
    expect(JSON.parse(cli('alerts', 'stats', '--json').stdout)).toMatchObject({ failed: 0 });

    const typo = cli('breakers', 'disable', 'costsim-v2', '--reason', 'typo');
    expect(typo.status).toBe(4);
    expect(typo.stderr).toContain('Breaker not found: costsim-v2');
    const bad = cli('breakers', 'disable', 'costsim_v2', '--reason', '');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('reason');
  } finally {
    expect(await serve.stop()).toBe(0);
  }

  const after = cli('projections', 'status');
  expect(after.status).toBe(3);
  expect(after.stderr).toContain('No costsim-guard service is running');
  expect(after.stderr).toContain('npm start');
  expect(after.stderr).not.toContain('postmaster.pid');
}, 180_000);

test('--version prints the package version', () => {
  const version = cli('--version');
  expect(version.status).toBe(0);
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
});
