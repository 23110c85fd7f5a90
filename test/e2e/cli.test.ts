import { spawnSync } from 'node:child_process';
import { BreakerCommandService } from '../../src/commands/breaker/breakerCommandService';
import { defaultBreakerPolicy } from '../../src/domain/breaker';
import { PostgresEventStore } from '../../src/infra/eventStore/postgresEventStore';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { CLI } from '../support/serveProcess';
import { testApiKeys } from '../support/serviceHarness';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => db.drop());

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('migrate applies every migration once', () => {
  const first = cli('migrate');
  expect(first.status).toBe(0);
  expect(first.stdout).toContain('applied: 001_event_store, 002_breaker_read_models');
  const again = cli('migrate');
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('already up to date');
});

test('projections rebuild replays the events into an equal table; status reports the checkpoint', async () => {
  const service = new BreakerCommandService(new PostgresEventStore(db.pool), defaultBreakerPolicy);
  for (const tenantId of [null, 'tenant-a', 'tenant-b']) {
    await service.execute({ name: 'costsim_v2', tenantId }, (now, incidentId) => ({
      type: 'DisableBreaker',
      reason: `incident for ${tenantId ?? 'global'}`,
      actor: 'cli-test',
      incident_id: incidentId,
      now,
    }));
  }
  // No projector ran: the read table is empty until the rebuild.
  expect((await db.pool.query('select * from cb_state')).rows).toHaveLength(0);
  const rebuilt = cli('projections', 'rebuild', 'cb_state', '--batch-size', '2');
  expect(rebuilt.stderr).not.toContain('Error');
  expect(rebuilt.status).toBe(0);
  expect(rebuilt.stdout).toContain('rebuilt cb_state from 3 events');
  const rows = (
    await db.pool.query('select name, tenant_id, open, disabled_reason from cb_state order by tenant_key')
  ).rows;
  expect(rows).toEqual([
    { name: 'costsim_v2', tenant_id: null, open: true, disabled_reason: 'incident for global' },
    { name: 'costsim_v2', tenant_id: 'tenant-a', open: true, disabled_reason: 'incident for tenant-a' },
    { name: 'costsim_v2', tenant_id: 'tenant-b', open: true, disabled_reason: 'incident for tenant-b' },
  ]);

  const status = cli('projections', 'status', '--json');
  expect(status.status).toBe(0);
  const statuses = JSON.parse(status.stdout) as Array<{ name: string; lagEvents: number }>;
  expect(statuses.find((s) => s.name === 'cb_state')).toMatchObject({ lagEvents: 0 });

  const unknown = cli('projections', 'rebuild', 'no_such_projection');
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toContain('known: cb_state, cb_incidents');
});

test('fatal start-up errors are one line naming what to check; unknown COSTSIM_* variables are warned about', () => {
  const run = spawnSync(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/costsim',
      COSTSIM_DRIFT_TRESHOLD: '0.3',
      COSTSIM_API_KEYS: JSON.stringify(testApiKeys),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'costsim-cli-fatal-')),
      PORT: '0',
      LOG_LEVEL: 'silent',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toEqual([
    'warning: unknown variable COSTSIM_DRIFT_TRESHOLD is ignored (did you mean COSTSIM_DRIFT_THRESHOLD?)',
    expect.stringMatching(
      /^fatal: cannot reach PostgreSQL at 127\.0\.0\.1:1\/costsim \(ECONNREFUSED: connection refused\): check that the server is running/,
    ),
  ]);
  expect(run.stderr).not.toContain('secret'); // the password never reaches the terminal
});
