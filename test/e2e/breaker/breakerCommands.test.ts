import {
  type BreakerStateView,
  type DisableResult,
  type EnableResult,
  type HistoryEvent,
  type IncidentList,
  type TripResult,
  postWithEtag,
} from '../../support/breakerHttp';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Breaker command routes over HTTP (docs/api.md "Breakers", "Precise semantics"): disable, enable, drift and
 * schema-errors, each checked in its response and then on the read side (projections, eventually
 * consistent: read with ?min_version=<version from the command> or poll).
 */

const HOUR = 3_600_000;
let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    COSTSIM_BREAKERS:
      'cmd-amend,cmd-both,cmd-disable,cmd-disabled-by,cmd-drift,cmd-drift-low,cmd-drift-reset,cmd-enable,cmd-enable-closed,cmd-enable-nobody,cmd-idem,cmd-ifmatch,cmd-past,cmd-schema,cmd-ttl-fraction,cmd-ttl-zero,cmd-until',
  });
});
afterAll(async () => t?.stop());

const disable = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  postWithEtag<DisableResult>(t, `/costsim/breakers/${name}/disable`, body, testKeys.admin, headers);
const enable = (name: string, body?: unknown) =>
  postWithEtag<EnableResult>(t, `/costsim/breakers/${name}/enable`, body);
const drift = (name: string, body: unknown) =>
  postWithEtag<TripResult>(t, `/costsim/breakers/${name}/drift`, body, testKeys.write);
const schemaErrors = (name: string, body: unknown) =>
  postWithEtag<TripResult>(t, `/costsim/breakers/${name}/schema-errors`, body, testKeys.write);

async function readState(name: string, minVersion: number): Promise<BreakerStateView> {
  const res = await t.call('GET', `/costsim/breakers/${name}?min_version=${minVersion}`, {
    key: testKeys.read,
  });
  expect(res.status).toBe(200);
  const state = (await res.json()) as BreakerStateView;
  expect(state.version).toBeGreaterThanOrEqual(minVersion);
  return state;
}

async function incidents(name: string, query = 'include_resolved=true') {
  const res = await t.call('GET', `/costsim/breakers/${name}/incidents?${query}`, { key: testKeys.read });
  expect(res.status).toBe(200);
  return (await res.json()) as IncidentList;
}

async function history(name: string): Promise<HistoryEvent[]> {
  const res = await t.call('GET', `/costsim/breakers/${name}/history`, { key: testKeys.read });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: HistoryEvent[] }).events;
}

const eventCount = async () =>
  Number((await t.db.pool.query<{ n: string }>('select count(*) as n from es_events')).rows[0]!.n);

describe('POST /costsim/breakers/{name}/disable', () => {
  test('opens the breaker with a P2 manual incident, the default 24 h TTL, and the key id as actor', async () => {
    const before = Date.now();
    const { etag, body } = await disable('cmd-disable', { reason: 'Planned maintenance' });
    expect(etag).toBe('"1"');
    expect(body.changed).toBe(true);
    expect(body.state).toMatchObject({
      name: 'cmd-disable',
      tenant_id: null,
      open: true,
      disabled_by: 'admin',
      disabled_reason: 'Planned maintenance',
      consecutive_failures: 0,
      version: 1,
    });
    const openedAt = Date.parse(body.state.opened_at!);
    expect(openedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(body.state.disabled_until!) - openedAt).toBe(24 * HOUR);
    expect(body.incident).toMatchObject({
      id: body.state.incident_id,
      breaker: 'cmd-disable',
      tenant_id: null,
      severity: 'P2',
      reason: 'Planned maintenance',
      details: { manual_disable: true },
      resolved: false,
    });
    expect(body.incident!.id).toMatch(/^[A-Za-z0-9_-]{12}$/);

    // The read model reaches exactly the state the command answered with.
    expect(await readState('cmd-disable', 1)).toEqual(body.state);
    const list = await eventually(async () => {
      const l = await incidents('cmd-disable', 'include_resolved=false');
      expect(l.total).toBe(1);
      return l;
    });
    expect(list.incidents[0]).toMatchObject({ id: body.incident!.id, severity: 'P2', resolved: false });
  });

  test('disabled_by, when given, is the actor of the disable', async () => {
    const { body } = await disable('cmd-disabled-by', { reason: 'Ops', disabled_by: 'alice' });
    expect(body.state.disabled_by).toBe('alice');
    expect((await history('cmd-disabled-by'))[0]).toMatchObject({ position: 1, actor: 'alice' });
  });

  test('the same disable again changes nothing: changed false, incident null, no event written', async () => {
    const first = await disable('cmd-idem', { reason: 'Same reason', ttl_hours: 2 });
    const events = await eventCount();
    for (const again of [{ reason: 'Same reason' }, { reason: 'Same reason', ttl_hours: 2 }]) {
      const { etag, body } = await disable('cmd-idem', again);
      expect(body).toEqual({ changed: false, state: first.body.state, incident: null });
      expect(etag).toBe('"1"');
    }
    expect(await eventCount()).toBe(events);
    expect(await history('cmd-idem')).toHaveLength(1);
  });

  test('a different reason or TTL amends the open disable: changed true, same incident, no second incident', async () => {
    const first = await disable('cmd-amend', { reason: 'First reason' });
    const incidentId = first.body.incident!.id;

    const byReason = await disable('cmd-amend', { reason: 'Second reason' });
    expect(byReason.body.changed).toBe(true);
    expect(byReason.body.state).toMatchObject({
      open: true,
      disabled_reason: 'Second reason',
      incident_id: incidentId,
      disabled_until: first.body.state.disabled_until, // no TTL given: the window is kept
      version: 2,
    });
    expect(byReason.body.incident).toMatchObject({ id: incidentId, severity: 'P2' });

    const byTtl = await disable('cmd-amend', { reason: 'Second reason', ttl_hours: 3 });
    expect(byTtl.body.changed).toBe(true);
    expect(byTtl.body.incident!.id).toBe(incidentId);
    expect(byTtl.body.state.version).toBe(3);
    expect(Date.parse(byTtl.body.state.disabled_until!) - Date.parse(byTtl.body.state.updated_at!)).toBe(
      3 * HOUR,
    );

    expect(await readState('cmd-amend', 3)).toEqual(byTtl.body.state);
    const all = await eventually(async () => {
      const l = await incidents('cmd-amend');
      expect(l.total).toBe(1);
      return l;
    });
    expect(all.incidents[0]!.id).toBe(incidentId);
    expect((await history('cmd-amend')).map((e) => e.type)).toEqual([
      'BreakerTripped',
      'BreakerDisableAmended',
      'BreakerDisableAmended',
    ]);
  });

  test('ttl_hours 0 disables until enabled (disabled_until null); fractional hours are honoured', async () => {
    const permanent = await disable('cmd-ttl-zero', { reason: 'Until enabled', ttl_hours: 0 });
    expect(permanent.body.state.open).toBe(true);
    expect(permanent.body.state.disabled_until).toBeNull();
    expect((await readState('cmd-ttl-zero', 1)).disabled_until).toBeNull();

    const fraction = await disable('cmd-ttl-fraction', { reason: 'Ninety minutes', ttl_hours: 1.5 });
    const s = fraction.body.state;
    expect(Date.parse(s.disabled_until!) - Date.parse(s.opened_at!)).toBe(1.5 * HOUR);
  });

  test('disabled_until is stored normalised to UTC', async () => {
    const until = new Date(Date.now() + 5 * HOUR);
    until.setUTCMilliseconds(0);
    const local = until.toISOString().replace('Z', '+00:00');
    const { body } = await disable('cmd-until', { reason: 'Until a time', disabled_until: local });
    expect(body.state.disabled_until).toBe(until.toISOString());
  });

  test('a disabled_until in the past is accepted: the breaker reads closed at once and the recovery is recorded', async () => {
    const past = new Date(Date.now() - HOUR).toISOString();
    const { body } = await disable('cmd-past', { reason: 'Already over', disabled_until: past });
    expect(body.changed).toBe(true);
    expect(body.state).toMatchObject({ open: false, disabled_until: null, incident_id: null, version: 2 });
    expect((await readState('cmd-past', 2)).open).toBe(false);
    expect((await history('cmd-past')).map((e) => e.type)).toEqual([
      'BreakerTripped',
      'BreakerAutoRecovered',
    ]);
    const resolved = await eventually(async () => {
      const l = await incidents('cmd-past');
      expect(l.total).toBe(1);
      expect(l.incidents[0]!.resolved).toBe(true);
      return l.incidents[0]!;
    });
    expect(resolved).toMatchObject({
      resolved_by: 'system-auto-recover',
      resolution_notes: 'Auto-recovered after TTL expired',
    });
  });

  test('sending both ttl_hours and disabled_until → 400 naming ttl_hours; nothing is written', async () => {
    const events = await eventCount();
    const res = await t.call('POST', '/costsim/breakers/cmd-both/disable', {
      key: testKeys.admin,
      body: { reason: 'Both', ttl_hours: 1, disabled_until: new Date(Date.now() + HOUR).toISOString() },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { errors: Array<{ path: string }> };
    expect(problem.errors.map((e) => e.path)).toContain('ttl_hours');
    expect(await eventCount()).toBe(events);
    expect(await history('cmd-both')).toEqual([]);
  });

  test('If-Match: a stale version → 412 problem with the current version and nothing written; the current one → 200', async () => {
    await disable('cmd-ifmatch', { reason: 'First' });
    const events = await eventCount();

    const stale = await t.call('POST', '/costsim/breakers/cmd-ifmatch/disable', {
      key: testKeys.admin,
      body: { reason: 'Changed with a stale version' },
      headers: { 'If-Match': '"0"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toContain('application/problem+json');
    expect(await stale.json()).toMatchObject({ status: 412, current_version: 1 });

    const staleEnable = await t.call('POST', '/costsim/breakers/cmd-ifmatch/enable', {
      key: testKeys.admin,
      body: {},
      headers: { 'If-Match': '"7"' },
    });
    expect(staleEnable.status).toBe(412);
    expect(await eventCount()).toBe(events);
    expect(await readState('cmd-ifmatch', 1)).toMatchObject({
      open: true,
      disabled_reason: 'First',
      version: 1,
    });

    const current = await disable('cmd-ifmatch', { reason: 'Changed' }, { 'If-Match': '"1"' });
    expect(current.etag).toBe('"2"');
    expect(current.body).toMatchObject({ changed: true, state: { disabled_reason: 'Changed', version: 2 } });
  });
});

describe('POST /costsim/breakers/{name}/enable', () => {
  test('a closed breaker: changed false and no event written', async () => {
    const events = await eventCount();
    const { etag, body } = await enable('cmd-enable-closed', { reason: 'Nothing to do' });
    expect(etag).toBe('"0"');
    expect(body.changed).toBe(false);
    expect(body.state).toMatchObject({ name: 'cmd-enable-closed', open: false, version: 0 });
    expect(await eventCount()).toBe(events);
  });

  test('an open breaker closes; its incident is resolved by enabled_by with the reason as notes', async () => {
    const disabled = await disable('cmd-enable', { reason: 'Broken' });
    const incidentId = disabled.body.incident!.id;
    await drift('cmd-enable', { drift_score: 0.9 }); // recorded while open; the counter stays 0

    const { etag, body } = await enable('cmd-enable', {
      reason: 'Fixed the issue',
      enabled_by: 'test-suite',
    });
    expect(etag).toBe('"3"');
    expect(body.changed).toBe(true);
    expect(body.state).toMatchObject({
      open: false,
      disabled_by: null,
      disabled_reason: null,
      disabled_until: null,
      incident_id: null,
      consecutive_failures: 0,
      opened_at: null,
      version: 3,
    });
    expect(await readState('cmd-enable', 3)).toEqual(body.state);

    const resolved = await eventually(async () => {
      const l = await incidents('cmd-enable', 'include_resolved=true');
      expect(l.incidents[0]?.resolved).toBe(true);
      return l;
    });
    expect(resolved.total).toBe(1);
    expect(resolved.incidents[0]).toMatchObject({
      id: incidentId,
      reason: 'Broken',
      resolved: true,
      resolved_by: 'test-suite',
      resolution_notes: 'Fixed the issue',
    });
    expect(resolved.incidents[0]!.resolved_at).not.toBeNull();
    // Without include_resolved the resolved incident is not listed.
    expect(await incidents('cmd-enable', 'include_resolved=false')).toEqual({ incidents: [], total: 0 });
    expect((await history('cmd-enable')).at(-1)).toMatchObject({
      type: 'BreakerEnabled',
      actor: 'test-suite',
    });
  });

  test('without a body: the key id resolves the incident with "Manual reset"', async () => {
    await disable('cmd-enable-nobody', { reason: 'Broken' });
    const res = await t.call('POST', '/costsim/breakers/cmd-enable-nobody/enable', { key: testKeys.admin });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { changed: boolean }).changed).toBe(true);
    const inc = await eventually(async () => {
      const l = await incidents('cmd-enable-nobody');
      expect(l.incidents[0]?.resolved).toBe(true);
      return l.incidents[0]!;
    });
    expect(inc).toMatchObject({ resolved_by: 'admin', resolution_notes: 'Manual reset' });
  });
});

describe('POST /costsim/breakers/{name}/drift', () => {
  test('a score at or below the threshold is recorded and changes nothing', async () => {
    for (const [i, score] of [0.1, 0.2].entries()) {
      const { etag, body } = await drift('cmd-drift-low', { drift_score: score });
      expect(etag).toBe(`"${i + 1}"`);
      expect(body.tripped).toBe(false);
      expect(body.incident).toBeNull();
      expect(body.state).toMatchObject({ open: false, consecutive_failures: 0, last_failure_at: null });
    }
    expect((await history('cmd-drift-low')).map((e) => e.type)).toEqual(['DriftObserved', 'DriftObserved']);
  });

  test('0.25 three times trips the breaker: P1, "Drift exceeded threshold: 0.2500 > 0.2", by circuit_breaker', async () => {
    const first = await drift('cmd-drift', { drift_score: 0.25, sample_count: 10 });
    expect(first.body).toMatchObject({ tripped: false, incident: null, state: { consecutive_failures: 1 } });
    expect(first.body.state.last_failure_at).not.toBeNull();
    const second = await drift('cmd-drift', { drift_score: 0.25, sample_count: 10 });
    expect(second.body).toMatchObject({ tripped: false, state: { open: false, consecutive_failures: 2 } });

    const third = await drift('cmd-drift', { drift_score: 0.25, sample_count: 10, details: { run: 'r-3' } });
    expect(third.body.tripped).toBe(true);
    expect(third.body.state).toMatchObject({
      open: true,
      disabled_by: 'circuit_breaker',
      disabled_reason: 'Drift exceeded threshold: 0.2500 > 0.2',
      consecutive_failures: 0, // a trip resets the counter
    });
    expect(third.body.incident).toMatchObject({
      id: third.body.state.incident_id,
      severity: 'P1',
      reason: 'Drift exceeded threshold: 0.2500 > 0.2',
      drift_score: 0.25,
      sample_count: 10,
      details: { run: 'r-3' },
    });
    expect(await readState('cmd-drift', third.body.state.version)).toEqual(third.body.state);
    const listed = await eventually(async () => {
      const l = await incidents('cmd-drift', 'include_resolved=false');
      expect(l.total).toBe(1);
      return l.incidents[0]!;
    });
    expect(listed).toMatchObject({ id: third.body.incident!.id, severity: 'P1', drift_score: 0.25 });

    // While open: recorded, never re-trips, the counter stays 0.
    for (let i = 0; i < 4; i++) {
      const open = await drift('cmd-drift', { drift_score: 0.9 });
      expect(open.body).toMatchObject({
        tripped: false,
        incident: null,
        state: { open: true, consecutive_failures: 0, incident_id: third.body.state.incident_id },
      });
    }
    expect((await incidents('cmd-drift')).total).toBe(1);
  });

  test('a score at or below the threshold resets the counter', async () => {
    await drift('cmd-drift-reset', { drift_score: 0.25 });
    const two = await drift('cmd-drift-reset', { drift_score: 0.5 });
    expect(two.body.state.consecutive_failures).toBe(2);
    const reset = await drift('cmd-drift-reset', { drift_score: 0.2 });
    expect(reset.body.state.consecutive_failures).toBe(0);
    const again = await drift('cmd-drift-reset', { drift_score: 0.25 });
    expect(again.body).toMatchObject({ tripped: false, state: { open: false, consecutive_failures: 1 } });
  });
});

describe('POST /costsim/breakers/{name}/schema-errors', () => {
  test('3 errors are recorded without a trip; 5 trip at once with a P3 incident', async () => {
    const three = await schemaErrors('cmd-schema', { error_count: 3 });
    expect(three.etag).toBe('"1"');
    expect(three.body).toMatchObject({ tripped: false, incident: null, state: { open: false, version: 1 } });

    const five = await schemaErrors('cmd-schema', { error_count: 5, details: { source: 'sandbox' } });
    expect(five.body.tripped).toBe(true);
    expect(five.body.state).toMatchObject({
      open: true,
      disabled_by: 'circuit_breaker',
      disabled_reason: 'Schema error threshold exceeded: 5 >= 5',
    });
    expect(five.body.incident).toMatchObject({
      severity: 'P3',
      reason: 'Schema error threshold exceeded: 5 >= 5',
      drift_score: 1,
      sample_count: 5,
      details: { source: 'sandbox' },
    });
    const listed = await eventually(async () => {
      const l = await incidents('cmd-schema', 'include_resolved=false');
      expect(l.total).toBe(1);
      return l.incidents[0]!;
    });
    expect(listed).toMatchObject({ id: five.body.incident!.id, severity: 'P3' });

    const whileOpen = await schemaErrors('cmd-schema', { error_count: 50 });
    expect(whileOpen.body).toMatchObject({ tripped: false, incident: null, state: { open: true } });
    expect(whileOpen.body.state.incident_id).toBe(five.body.incident!.id);
  });
});
