import { capturingLogger } from '../support/logCapture';
import { eventually } from '../support/eventually';
import { type TestService, startTestService, testKeys } from '../support/serviceHarness';

/**
 * One structured log line per breaker transition (trip, amend, enable, TTL recovery), per alert delivery
 * outcome, and per leadership change (issue #11 item 6).
 */
const { logger, lines } = capturingLogger();
let t: TestService;
beforeAll(async () => {
  t = await startTestService(
    {
      COSTSIM_BREAKERS: 'logged,ttl_logged',
      // Nothing listens on port 1: every delivery fails, and each failure is logged.
      ALERTMANAGER_URL: 'http://127.0.0.1:1',
      ALERTMANAGER_TIMEOUT: '1',
      ALERT_DELIVERY_POLL_MS: '50',
    },
    undefined,
    { logger },
  );
});
afterAll(async () => t?.stop());

const logged = (msg: string, breaker?: string) =>
  lines.filter((l) => l.msg === msg && (breaker === undefined || l.breaker === breaker));
const post = (path: string, body: unknown) => t.call('POST', path, { key: testKeys.admin, body });

test('every breaker transition is one log line with the breaker, the incident and the actor', async () => {
  expect((await post('/costsim/breakers/logged/disable', { reason: 'first' })).status).toBe(200);
  expect((await post('/costsim/breakers/logged/disable', { reason: 'amended' })).status).toBe(200);
  expect((await post('/costsim/breakers/logged/disable', { reason: 'amended' })).status).toBe(200); // no change
  expect((await post('/costsim/breakers/logged/enable', { reason: 'fixed' })).status).toBe(200);
  const [trip] = logged('breaker tripped: V2 disabled', 'logged');
  expect(trip).toMatchObject({
    level: 40,
    breaker: 'logged',
    tenant_id: null,
    severity: 'P2',
    trigger: 'manual',
    reason: 'first',
    actor: 'admin',
    incident_id: expect.any(String),
  });
  expect(logged('breaker disable amended', 'logged')).toEqual([
    expect.objectContaining({ reason: 'amended', previous_reason: 'first', incident_id: trip!.incident_id }),
  ]);
  expect(logged('breaker enabled: V2 re-enabled', 'logged')).toEqual([
    expect.objectContaining({
      resolved_by: 'admin',
      resolution_notes: 'fixed',
      incident_id: trip!.incident_id,
    }),
  ]);

  // A TTL recovery, written by the recovery worker.
  const until = new Date(Date.now() + 300).toISOString();
  expect(
    (await post('/costsim/breakers/ttl_logged/disable', { reason: 'short', disabled_until: until })).status,
  ).toBe(200);
  await eventually(() =>
    expect(logged('breaker auto-recovered: V2 re-enabled', 'ttl_logged')).toEqual([
      expect.objectContaining({ resolved_by: 'system-auto-recover' }),
    ]),
  );
});

test('alert delivery outcomes and leadership changes are logged', async () => {
  await eventually(() =>
    expect(lines.find((l) => l.msg === 'alert delivery failed; will retry')).toMatchObject({
      alert_type: 'disable',
      target: 'http://127.0.0.1:1',
      attempts: 1,
      final: false,
      next_attempt_at: expect.any(String),
      incident_id: expect.any(String),
    }),
  );
  for (const job of ['breaker-recovery', 'alert-reasserter', 'provenance-retention']) {
    expect(lines).toContainEqual(expect.objectContaining({ job, leader: true, msg: `${job}: leading` }));
  }
  expect(lines).toContainEqual(expect.objectContaining({ leader: true, msg: 'projector: leading' }));
});
