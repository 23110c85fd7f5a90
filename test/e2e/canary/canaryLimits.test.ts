import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/** COSTSIM_CANARY_MAX_RUNTIME_SECONDS and COSTSIM_CANARY_ENABLED are honoured. */
let t: TestService | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

const leading = async (s: TestService) => {
  const canary = s.service.canary;
  await eventually(async () => expect(canary.leadership.isLeader).toBe(true));
};

test('a run past COSTSIM_CANARY_MAX_RUNTIME_SECONDS completes as error with the reason, never a pass', async () => {
  t = await startTestService({ COSTSIM_CANARY_MAX_RUNTIME_SECONDS: '0.001' });
  await leading(t);
  const res = await t.call('POST', '/costsim/canary/run', { key: testKeys.admin, body: {} });
  const report = (await res.json()) as {
    run_id: string;
    status: string;
    passed: boolean;
    failure_reasons: string[];
  };
  expect(report.status).toBe('error');
  expect(report.passed).toBe(false);
  expect(report.failure_reasons).toEqual([
    'Canary run exceeded COSTSIM_CANARY_MAX_RUNTIME_SECONDS (0.001 s)',
  ]);
  // recorded: the error is in the log and the read model
  await eventually(async () =>
    expect(
      (await t!.call('GET', `/costsim/canary/reports/${report.run_id}`, { key: testKeys.read })).status,
    ).toBe(200),
  );
});

test('COSTSIM_CANARY_ENABLED=false: no leader, no schedule; a run request answers skipped and records nothing', async () => {
  t = await startTestService({ COSTSIM_CANARY_ENABLED: 'false' });
  const res = await t.call('POST', '/costsim/canary/run', { key: testKeys.admin, body: {} });
  const report = (await res.json()) as { status: string; failure_reasons: string[] };
  expect(report.status).toBe('skipped');
  expect(report.failure_reasons).toEqual(['Skipped: the canary is disabled (COSTSIM_CANARY_ENABLED=false)']);
  // pg_locks is cluster-wide: only this test's database counts (other services on the server lead theirs)
  const { rows } = await t.db.pool.query(
    `select count(*)::int as n from pg_locks
      where locktype = 'advisory' and objid = 7001
        and database = (select oid from pg_database where datname = current_database())`,
  );
  expect(rows[0].n).toBe(0);
  const events = await t.db.pool.query(
    `select count(*)::int as n from es_events where stream_name like 'canary-%'`,
  );
  expect(events.rows[0].n).toBe(0);
});
