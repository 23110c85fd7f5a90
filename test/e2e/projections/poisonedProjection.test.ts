import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { eventually } from '../../support/eventually';
import { disableV2, probe, runCli, v2Runs } from '../../support/killSwitchProbe';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * An event a projection of untrusted data cannot apply (written straight into es_events, past any edge
 * validation): the provenance projection retries it with back-off, isolates it and parks it as a dead
 * letter, and moves on; the breaker's projections never wait for it — a costsim_v2 disable issued while
 * provenance is stuck is visible over the API and stops V2 within 1 s. Readiness and metrics show the
 * dead letters without error text; the operator lists, retries and skips them with the real CLI, each
 * decision recorded as an event; a rebuild keeps the decisions.
 */
jest.setTimeout(90_000);

// Four failed attempts with back-off 250, 500, 1000, 2000 ms: parking cannot happen within 3.75 s.
const BACKOFF_MS = 250;
let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    COSTSIM_V2_SANDBOX: 'true',
    PROJECTOR_RETRY_ATTEMPTS: '4',
    PROJECTOR_RETRY_BACKOFF_MS: String(BACKOFF_MS),
    PROJECTOR_RETRY_MAX_BACKOFF_MS: '2000',
  });
});
afterAll(async () => t?.stop());

const record = (overrides: Record<string, unknown>) => ({
  id: randomUUID(),
  run_id: 'poison-test',
  tenant_id: null,
  variant_slug: 'v1',
  source: 'manual',
  model_version: null,
  adapter_version: null,
  commit_sha: null,
  input_hash: 'a'.repeat(64),
  output_hash: null,
  v1_cost: 1,
  v2_cost: null,
  cost_delta: null,
  drift_score: null,
  verdict: null,
  payload: {},
  runtime_ms: null,
  created_at: new Date().toISOString(),
  ...overrides,
});

/** Straight into the store, as a bug, an old version or a restored backup might have written it. */
async function inject(data: { id: string }): Promise<void> {
  await t.db.pool.query(
    `insert into es_events (event_id, stream_name, stream_version, event_type, data)
     values ($1, $2, 1, 'ProvenanceRecorded', $3::jsonb)`,
    [data.id, `provenance-${data.id}`, JSON.stringify(data)],
  );
}

const checkpoint = async (name: string) =>
  (
    await t.db.pool.query<{ failure_message: string | null; failure_event_id: string | null }>(
      'select failure_message, failure_event_id from projection_checkpoints where name = $1',
      [name],
    )
  ).rows[0];

const provenanceRows = async (runId: string) =>
  (
    await t.db.pool.query<{ id: string }>('select id from provenance where run_id = $1 order by id', [runId])
  ).rows.map((r) => r.id);

const deadLetters = async () =>
  (
    await t.db.pool.query<{
      event_id: string;
      status: string;
      failures: number;
      parked_at: Date;
      error: string;
    }>(
      'select event_id, status, failures, parked_at, error from projection_dead_letters order by parked_at, event_id',
    )
  ).rows;

test('a poison event is parked while the breaker goes on; readiness and metrics show it; the CLI retries and skips', async () => {
  const kill = probe(t.url);
  // The gate is closed: V2 runs (and is counted).
  expect(await kill.simulateRanV2()).toBe(true);
  expect(await v2Runs(t.db.pool)).toBe(1);

  const badTime = record({ created_at: '0000-01-01T00:00:00Z' });
  const badVariant = record({ variant_slug: null });
  await inject(badTime);
  await inject(badVariant);
  const good = await t.call('POST', '/costsim/provenance', {
    key: testKeys.write,
    body: {
      records: [{ run_id: 'poison-test', variant_slug: 'v1', source: 'manual', input_hash: 'b'.repeat(64) }],
    },
  });
  expect(good.status).toBe(201);

  // The provenance projection is failing on the poison and retrying…
  await eventually(async () => expect((await checkpoint('provenance'))?.failure_message).toBeTruthy());
  const stuckAt = Date.now();

  // …and a disable issued now reaches the API and the V2 gate within 1 s all the same.
  await disableV2(t.url, 'poison test');
  const disabledAt = Date.now();
  await eventually(async () => expect(await kill.breakerOpen()).toBe(true), 1000, 10);
  const visibleMs = Date.now() - disabledAt;
  const runsBefore = await v2Runs(t.db.pool);
  for (let i = 0; i < 10; i++) expect(await kill.simulateRanV2()).toBe(false);
  expect(await v2Runs(t.db.pool)).toBe(runsBefore);
  expect(runsBefore).toBe(1);
  console.log(
    `[poison] disable visible over the API ${visibleMs} ms after it was acknowledged, provenance stuck`,
  );

  // Both poison events end up parked, everything else is projected, the failure is cleared.
  await eventually(async () => {
    expect((await deadLetters()).map((d) => d.event_id).sort()).toEqual([badTime.id, badVariant.id].sort());
    expect(await checkpoint('provenance')).toEqual({ failure_message: null, failure_event_id: null });
  }, 30_000);
  const letters = await deadLetters();
  // Parked only after the back-off (so the breaker could not have been waiting on it).
  for (const d of letters) expect(d.parked_at.getTime()).toBeGreaterThan(stuckAt + 2000);
  expect(letters.find((d) => d.event_id === badTime.id)!.error).toMatch(/out of range/);
  expect(letters.find((d) => d.event_id === badVariant.id)!.error).toMatch(
    /null value in column "variant_slug"/,
  );
  await eventually(async () => expect(await provenanceRows('poison-test')).toHaveLength(1));

  // Readiness: ready, the dead letters counted, no database error text for an anonymous reader.
  const ready = await t.call('GET', '/health/ready');
  const readyText = await ready.text();
  expect(ready.status).toBe(200);
  expect(JSON.parse(readyText).checks.projections.provenance).toMatchObject({
    status: 'ok',
    dead_letters: 2,
  });
  expect(readyText).not.toMatch(/out of range|null value|variant_slug/);
  const metrics = await (await t.call('GET', '/metrics')).text();
  expect(metrics).toMatch(/costsim_projector_dead_letters\{[^}]*projection="provenance"[^}]*\} 2/);
  const failures = /costsim_projector_failures_total\{[^}]*projection="provenance"[^}]*\} (\d+)/.exec(
    metrics,
  );
  expect(Number(failures?.[1])).toBeGreaterThanOrEqual(4);
  expect(metrics).toMatch(/costsim_projector_dead_letters\{[^}]*projection="cb_state"[^}]*\} 0/);

  // The errors are for admins: GET /costsim/projections.
  expect((await t.call('GET', '/costsim/projections')).status).toBe(401);
  expect((await t.call('GET', '/costsim/projections', { key: testKeys.tenantAAdmin })).status).toBe(403);
  const detail = (await (await t.call('GET', '/costsim/projections', { key: testKeys.admin })).json()) as {
    projections: Array<{ name: string; dead_letters: Array<{ event_id: string; error: string }> }>;
  };
  const provenance = detail.projections.find((p) => p.name === 'provenance')!;
  expect(provenance.dead_letters.map((d) => d.error).join(' ')).toMatch(/out of range/);

  // The operator, with the real CLI.
  const list = runCli(t.db.url, 'projections', 'dead-letters', 'list', '--json');
  expect(list.status).toBe(0);
  expect((JSON.parse(list.stdout) as Array<{ eventId: string }>).map((d) => d.eventId).sort()).toEqual(
    [badTime.id, badVariant.id].sort(),
  );
  const human = runCli(t.db.url, 'projections', 'dead-letters', 'list');
  expect(human.stdout).toContain(`provenance ${badTime.id} ProvenanceRecorded`);

  // A retry before the fix fails again: still parked, exit 1.
  const early = runCli(t.db.url, 'projections', 'dead-letters', 'retry', 'provenance', badVariant.id);
  expect(early.status).toBe(1);
  expect(early.stdout).toContain('failed again, still parked');
  // The fix (here: the column accepts what the event holds); the retry now applies it.
  await t.db.pool.query('alter table provenance alter column variant_slug drop not null');
  const retried = runCli(t.db.url, 'projections', 'dead-letters', 'retry', 'provenance', badVariant.id);
  expect(retried.stderr).toBe('');
  expect(retried.status).toBe(0);
  expect(retried.stdout).toContain(`${badVariant.id}: applied`);
  expect(await provenanceRows('poison-test')).toContain(badVariant.id);
  // The one that can never be stored is skipped, with a reason.
  const skipped = runCli(
    t.db.url,
    'projections',
    'dead-letters',
    'skip',
    'provenance',
    '--all',
    '--reason',
    'year 0',
  );
  expect(skipped.status).toBe(0);
  expect(skipped.stdout).toContain(`${badTime.id}: skipped`);
  const unknown = runCli(t.db.url, 'projections', 'dead-letters', 'retry', 'provenance', randomUUID());
  expect(unknown.status).toBe(4);

  const actor = `cli:${userInfo().username}`;
  const all = JSON.parse(
    runCli(t.db.url, 'projections', 'dead-letters', 'list', '--status', 'all', '--json').stdout,
  ) as Array<{ eventId: string; status: string; resolvedBy: string; resolutionNote: string | null }>;
  expect(all.find((d) => d.eventId === badVariant.id)).toMatchObject({
    status: 'retried',
    resolvedBy: actor,
  });
  expect(all.find((d) => d.eventId === badTime.id)).toMatchObject({
    status: 'skipped',
    resolvedBy: actor,
    resolutionNote: 'year 0',
  });
  // Every decision is in the event log (it survives any rebuild).
  const { rows: audit } = await t.db.pool.query<{ event_type: string; data: Record<string, unknown> }>(
    `select event_type, data from es_events where stream_name = 'projection_dead_letters' order by stream_version`,
  );
  expect(audit.map((a) => [a.event_type, a.data.event_id, a.data.outcome ?? null, a.data.actor])).toEqual([
    ['DeadLetterRetried', badVariant.id, 'failed', actor],
    ['DeadLetterRetried', badVariant.id, 'applied', actor],
    ['DeadLetterSkipped', badTime.id, null, actor],
  ]);
  await eventually(async () => {
    const body = (await (await t.call('GET', '/health/ready')).json()) as {
      checks: { projections: Record<string, { dead_letters: number }> };
    };
    expect(body.checks.projections.provenance?.dead_letters).toBe(0);
  });

  // A live rebuild replays both again: the retried one applies, the skipped one fails and stays skipped.
  const rebuilt = runCli(t.db.url, 'projections', 'rebuild', 'provenance');
  expect(rebuilt.stderr).toBe('');
  expect(rebuilt.status).toBe(0);
  const rows = await provenanceRows('poison-test');
  expect(rows).toHaveLength(2); // the valid record and the retried one
  expect(rows).toContain(badVariant.id);
  const after = await deadLetters();
  expect(after.find((d) => d.event_id === badTime.id)).toMatchObject({ status: 'skipped', failures: 2 });
  expect(after.find((d) => d.event_id === badVariant.id)).toMatchObject({ status: 'retried' });
  // The breaker stayed open throughout, and V2 never ran again.
  expect(await kill.breakerOpen()).toBe(true);
  expect(await kill.simulateRanV2()).toBe(false);
  expect(await v2Runs(t.db.pool)).toBe(1);
});
