import {
  type BreakerHistory,
  type BreakerList,
  type BreakerStateView,
  type DisableResult,
  type HistoryEvent,
  type IncidentList,
  command,
  getJson,
} from '../../support/breakerHttp';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Breaker read routes over HTTP (docs/api.md "Breakers"): the list, one breaker (default state, ETag,
 * ?min_version), incidents (include_resolved, limit, total) and history (positions, ?until, state_at_until).
 */

const HOUR = 3_600_000;
const closed = (name: string, tenantId: string | null = null): BreakerStateView => ({
  name,
  tenant_id: tenantId,
  open: false,
  disabled_by: null,
  disabled_reason: null,
  disabled_until: null,
  incident_id: null,
  consecutive_failures: 0,
  last_failure_at: null,
  opened_at: null,
  updated_at: null,
  version: 0,
});

let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    COSTSIM_BREAKERS:
      'list-a,list-b,list-global,never-used,q-etag,q-eventual,q-hist,q-hist-none,q-inc,q-inc-many,q-minv,q-minv-never,q-no-incidents',
  });
});
afterAll(async () => t?.stop());

const names = (list: BreakerList) => list.breakers.map((b) => `${b.name}@${b.tenant_id ?? ''}`);

describe('GET /costsim/breakers/{name}', () => {
  test('a breaker with no events: 200, the default closed state, version 0, ETag "0"', async () => {
    const res = await t.call('GET', '/costsim/breakers/never-used', { key: testKeys.read });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('etag')).toBe('"0"');
    expect(await res.json()).toEqual(closed('never-used'));

    // The default breaker of a tenant, read with the tenant's own key.
    const own = await getJson<BreakerStateView>(t, '/costsim/breakers/costsim_v2', testKeys.tenantB);
    expect(own).toEqual(closed('costsim_v2', 'tenant-b'));
  });

  test('the ETag is the stream version and follows each command', async () => {
    const s1 = await command(t, '/costsim/breakers/q-etag/disable', { reason: 'one' });
    const s2 = await command(t, '/costsim/breakers/q-etag/disable', { reason: 'two' });
    expect([s1.version, s2.version]).toEqual([1, 2]);
    const res = await t.call('GET', '/costsim/breakers/q-etag?min_version=2', { key: testKeys.read });
    expect(res.headers.get('etag')).toBe('"2"');
    expect(await res.json()).toEqual(s2);
  });

  test('?min_version waits for the read model (read-your-writes)', async () => {
    for (let i = 1; i <= 5; i++) {
      const state = await command(t, '/costsim/breakers/q-minv/drift', { drift_score: 0.1 }, testKeys.write);
      expect(state.version).toBe(i);
      // No polling: the GET itself waits until the projection has caught up.
      const read = await getJson<BreakerStateView>(
        t,
        `/costsim/breakers/q-minv?min_version=${state.version}`,
      );
      expect(read).toEqual(state);
    }
  });

  test('?min_version beyond the stream waits about 2 s, then answers the current state', async () => {
    const started = Date.now();
    const res = await t.call('GET', '/costsim/breakers/q-minv-never?min_version=5', { key: testKeys.read });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(((await res.json()) as BreakerStateView).version).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(5000);
  });

  test('reads reflect a command without ?min_version, eventually', async () => {
    // No hard 1 s bound here: the projector reads behind the cluster-wide snapshot xmin, so transactions of
    // other test files running in parallel can delay it (test/support/eventually.ts).
    const state = await command(t, '/costsim/breakers/q-eventual/disable', { reason: 'eventually' });
    const read = await eventually(async () => {
      const s = await getJson<BreakerStateView>(t, '/costsim/breakers/q-eventual');
      expect(s.version).toBe(1);
      return s;
    });
    expect(read).toEqual(state);
  });
});

describe('GET /costsim/breakers', () => {
  beforeAll(async () => {
    await command(t, '/costsim/breakers/list-global/disable', { reason: 'global' });
    await command(t, '/costsim/breakers/list-a/drift?tenant_id=tenant-a', { drift_score: 0.1 });
    await command(t, '/costsim/breakers/list-b/drift?tenant_id=tenant-b', { drift_score: 0.1 });
    // Let the projection catch up with all three.
    await getJson(t, '/costsim/breakers/list-b?tenant_id=tenant-b&min_version=1', testKeys.admin);
    await getJson(t, '/costsim/breakers/list-a?tenant_id=tenant-a&min_version=1', testKeys.admin);
    await getJson(t, '/costsim/breakers/list-global?min_version=1');
  });

  test('a global key without X-Tenant-ID sees every breaker, each with its full state', async () => {
    const list = await getJson<BreakerList>(t, '/costsim/breakers');
    expect(names(list)).toEqual(
      expect.arrayContaining(['list-global@', 'list-a@tenant-a', 'list-b@tenant-b']),
    );
    expect(list.breakers.find((b) => b.name === 'list-global')).toMatchObject({
      tenant_id: null,
      open: true,
      disabled_reason: 'global',
      version: 1,
    });
  });

  test("a tenant key sees its own breakers and the global ones, never another tenant's", async () => {
    const a = names(await getJson<BreakerList>(t, '/costsim/breakers', testKeys.tenantA));
    expect(a).toEqual(expect.arrayContaining(['list-global@', 'list-a@tenant-a']));
    expect(a).not.toContain('list-b@tenant-b');
    expect(a.every((n) => n.endsWith('@') || n.endsWith('@tenant-a'))).toBe(true);

    const b = names(await getJson<BreakerList>(t, '/costsim/breakers', testKeys.tenantB));
    expect(b).toEqual(expect.arrayContaining(['list-global@', 'list-b@tenant-b']));
    expect(b).not.toContain('list-a@tenant-a');
  });

  test("a global key acting for a tenant (X-Tenant-ID) sees that tenant's and the global breakers", async () => {
    const res = await t.call('GET', '/costsim/breakers', {
      key: testKeys.read,
      headers: { 'X-Tenant-ID': 'tenant-b' },
    });
    expect(res.status).toBe(200);
    const list = names((await res.json()) as BreakerList);
    expect(list).toEqual(expect.arrayContaining(['list-global@', 'list-b@tenant-b']));
    expect(list).not.toContain('list-a@tenant-a');
  });
});

describe('GET /costsim/breakers/{name}/incidents', () => {
  const ids: string[] = [];
  beforeAll(async () => {
    // Three incidents: two resolved, the newest one open.
    for (const [i, reason] of ['first', 'second', 'third'].entries()) {
      const res = await t.call('POST', '/costsim/breakers/q-inc/disable', {
        key: testKeys.admin,
        body: { reason },
      });
      ids.push(((await res.json()) as DisableResult).incident!.id);
      if (i < 2) await command(t, '/costsim/breakers/q-inc/enable', { reason: `fixed ${reason}` });
    }
    await eventually(async () => {
      const all = await getJson<{ total: number }>(
        t,
        '/costsim/breakers/q-inc/incidents?include_resolved=true',
      );
      const open = await getJson<{ total: number }>(t, '/costsim/breakers/q-inc/incidents');
      expect([all.total, open.total]).toEqual([3, 1]);
    });
  });

  test('default: only unresolved incidents', async () => {
    const list = await getJson<IncidentList>(t, '/costsim/breakers/q-inc/incidents');
    expect(list.total).toBe(1);
    expect(list.incidents.map((i) => i.id)).toEqual([ids[2]]);
    expect(list.incidents[0]).toMatchObject({ reason: 'third', severity: 'P2', resolved: false });
  });

  test('include_resolved=true lists every incident, newest first', async () => {
    const list = await getJson<IncidentList>(t, '/costsim/breakers/q-inc/incidents?include_resolved=true');
    expect(list.total).toBe(3);
    expect(list.incidents.map((i) => i.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(list.incidents.map((i) => i.resolved)).toEqual([false, true, true]);
  });

  test('limit pages the list while total counts every match', async () => {
    const page = await getJson<IncidentList>(
      t,
      '/costsim/breakers/q-inc/incidents?include_resolved=true&limit=2',
    );
    expect(page.incidents.map((i) => i.id)).toEqual([ids[2], ids[1]]);
    expect(page.total).toBe(3);
    const one = await getJson<IncidentList>(
      t,
      '/costsim/breakers/q-inc/incidents?include_resolved=false&limit=1',
    );
    expect(one).toMatchObject({ total: 1 });
    expect(one.incidents).toHaveLength(1);
  });

  test('a breaker without incidents: an empty list and total 0', async () => {
    expect(await getJson(t, '/costsim/breakers/q-no-incidents/incidents?include_resolved=true')).toEqual({
      incidents: [],
      total: 0,
    });
  });

  test('default limit is 10', async () => {
    // 11 incidents on one breaker: disable/enable pairs.
    for (let i = 0; i < 11; i++) {
      await command(t, '/costsim/breakers/q-inc-many/disable', { reason: `r${i}` });
      await command(t, '/costsim/breakers/q-inc-many/enable', {});
    }
    const list = await eventually(async () => {
      const l = await getJson<IncidentList>(
        t,
        '/costsim/breakers/q-inc-many/incidents?include_resolved=true',
      );
      expect(l.total).toBe(11);
      return l;
    });
    expect(list.incidents).toHaveLength(10);
  });
});

describe('GET /costsim/breakers/{name}/history', () => {
  let events: HistoryEvent[];
  let untilFuture: string;
  beforeAll(async () => {
    await command(t, '/costsim/breakers/q-hist/disable', { reason: 'first reason', disabled_by: 'alice' });
    await new Promise((r) => setTimeout(r, 5)); // distinct recorded_at milliseconds
    await command(t, '/costsim/breakers/q-hist/disable', { reason: 'second reason' });
    await new Promise((r) => setTimeout(r, 5));
    await command(t, '/costsim/breakers/q-hist/enable', { reason: 'done', enabled_by: 'bob' });
    await new Promise((r) => setTimeout(r, 5));
    untilFuture = new Date(Date.now() + 10 * HOUR).toISOString();
    await command(t, '/costsim/breakers/q-hist/disable', { reason: 'ttl', disabled_until: untilFuture });
    events = (await getJson<BreakerHistory>(t, '/costsim/breakers/q-hist/history')).events;
  });

  test('every event with its 1-based stream position, type, time, actor and data', async () => {
    expect(events.map((e) => [e.position, e.type, e.actor])).toEqual([
      [1, 'BreakerTripped', 'alice'],
      [2, 'BreakerDisableAmended', 'admin'],
      [3, 'BreakerEnabled', 'bob'],
      [4, 'BreakerTripped', 'admin'],
    ]);
    expect(events[0]!.data).toMatchObject({ reason: 'first reason', severity: 'P2', trigger: 'manual' });
    expect(events[2]!.data).toMatchObject({ resolution_notes: 'done', resolved_by: 'bob' });
    for (const e of events) expect(new Date(e.recorded_at).toISOString()).toBe(e.recorded_at);
    const recorded = events.map((e) => Date.parse(e.recorded_at));
    expect([...recorded].sort((a, b) => a - b)).toEqual(recorded);
  });

  test('?until: only the events up to that instant, and the state rebuilt as it was then', async () => {
    const at = async (until: string) =>
      getJson<BreakerHistory>(t, `/costsim/breakers/q-hist/history?until=${encodeURIComponent(until)}`);

    const h1 = await at(events[0]!.recorded_at);
    expect(h1.events.map((e) => e.position)).toEqual([1]);
    expect(h1.state_at_until).toMatchObject({
      name: 'q-hist',
      open: true,
      disabled_by: 'alice',
      disabled_reason: 'first reason',
      version: 1,
    });

    const h2 = await at(events[1]!.recorded_at);
    expect(h2.events.map((e) => e.position)).toEqual([1, 2]);
    expect(h2.state_at_until).toMatchObject({ open: true, disabled_reason: 'second reason', version: 2 });

    const h3 = await at(events[2]!.recorded_at);
    expect(h3.state_at_until).toMatchObject({ open: false, disabled_reason: null, version: 3 });

    // Now: open with the future TTL; at an instant after that TTL the rebuilt state is already closed.
    const now = await getJson<BreakerHistory>(t, '/costsim/breakers/q-hist/history');
    expect(now.state_at_until).toMatchObject({ open: true, disabled_until: untilFuture, version: 4 });
    const later = await at(new Date(Date.parse(untilFuture) + 60_000).toISOString());
    expect(later.events).toHaveLength(4);
    expect(later.state_at_until).toMatchObject({ open: false, disabled_until: null, version: 4 });
  });

  test('?until before the first event: no events and the default closed state', async () => {
    const before = new Date(Date.parse(events[0]!.recorded_at) - 60_000).toISOString();
    const h = await getJson<BreakerHistory>(
      t,
      `/costsim/breakers/q-hist/history?until=${encodeURIComponent(before)}`,
    );
    expect(h.events).toEqual([]);
    expect(h.state_at_until).toEqual(closed('q-hist'));
  });

  test('?until with a zone offset is the same instant', async () => {
    const first = new Date(events[0]!.recorded_at);
    const shifted = new Date(first.getTime() + 2 * HOUR).toISOString().replace('Z', '+02:00');
    const h = await getJson<BreakerHistory>(
      t,
      `/costsim/breakers/q-hist/history?until=${encodeURIComponent(shifted)}`,
    );
    expect(h.events.map((e) => e.position)).toEqual([1]);
  });

  test('?limit keeps the newest events and the state still reflects all of them', async () => {
    const h = await getJson<BreakerHistory>(t, '/costsim/breakers/q-hist/history?limit=2');
    expect(h.events.map((e) => e.position)).toEqual([3, 4]);
    expect(h.state_at_until.version).toBe(4);
  });

  test('a breaker without events: empty history and the default state', async () => {
    const h = await getJson<BreakerHistory>(t, '/costsim/breakers/q-hist-none/history');
    expect(h.events).toEqual([]);
    expect(h.state_at_until).toEqual(closed('q-hist-none'));
  });
});
