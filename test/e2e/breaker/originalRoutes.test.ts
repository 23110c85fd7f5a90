import {
  type BreakerHistory,
  type BreakerStateView,
  type DisableResult,
  type IncidentList,
  type TripResult,
  getJson,
  postJson,
} from '../../support/breakerHttp';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * The original service's routes, kept for its clients (docs/api.md "Original routes"): GET /costsim/v2/status,
 * POST /costsim/v2/reset (?reason=, a JSON body, or no body at all) and GET /costsim/v2/incidents, all on
 * the default breaker costsim_v2 for the request's tenant (global + tenant breaker).
 */

interface Status {
  sandbox_enabled: boolean;
  circuit_breaker_open: boolean;
  disabled_by_drift: boolean;
  model_version: string;
  adapter_version: string;
  drift_threshold: number;
}
interface ResetResult {
  success: boolean;
  message: string;
  state: BreakerStateView;
}

const V2 = '/costsim/breakers/costsim_v2';
let t: TestService;

beforeAll(async () => {
  t = await startTestService({
    COSTSIM_V2_SANDBOX: 'true',
    COSTSIM_MODEL_VERSION: '2.1.0-test',
    COSTSIM_ADAPTER_VERSION: '2.0.7-test',
    COSTSIM_DRIFT_THRESHOLD: '0.3',
  });
});
afterAll(async () => t?.stop());

const status = (key: string = testKeys.read, headers: Record<string, string> = {}) =>
  getJson<Status>(t, '/costsim/v2/status', key, headers);

/** Polls the status until it matches (the status reads the projection). */
const statusEventually = (expected: Partial<Status>, key: string = testKeys.read) =>
  eventually(async () => {
    const s = await status(key);
    expect(s).toMatchObject(expected);
    return s;
  });

const v2Incidents = (query = 'include_resolved=true', key: string = testKeys.read) =>
  getJson<IncidentList>(t, `/costsim/v2/incidents?${query}`, key);

/** Waits until incident `id` of costsim_v2 (for `key`'s tenant) is listed as resolved, and returns it. */
const resolvedIncident = (id: string, key: string = testKeys.read) =>
  eventually(async () => {
    const list = await v2Incidents('include_resolved=true&limit=100', key);
    const found = list.incidents.find((i) => i.id === id);
    expect(found?.resolved).toBe(true);
    return found!;
  });

/** Opens the global costsim_v2 by hand; returns the incident id. */
const disableV2 = async (reason: string, key: string = testKeys.admin) =>
  (await postJson<DisableResult>(t, `${V2}/disable`, { reason }, key)).incident!.id;

async function tripByDrift(): Promise<BreakerStateView> {
  let last: TripResult | undefined;
  for (let i = 0; i < 3; i++) {
    last = await postJson<TripResult>(t, `${V2}/drift`, { drift_score: 0.5 }, testKeys.write);
  }
  expect(last!.tripped).toBe(true);
  return last!.state;
}

// The tests of this file share the global costsim_v2 breaker and run in order.
let tenantAIncident: string;
describe('GET /costsim/v2/status', () => {
  test('reports the configuration and a closed breaker on a fresh service', async () => {
    expect(await status()).toEqual({
      sandbox_enabled: true,
      circuit_breaker_open: false,
      disabled_by_drift: false,
      model_version: '2.1.0-test',
      adapter_version: '2.0.7-test',
      drift_threshold: 0.3,
    });
  });

  test('a manual disable opens it, but not "by drift"', async () => {
    await postJson(t, `${V2}/disable`, { reason: 'manual' });
    await statusEventually({ circuit_breaker_open: true, disabled_by_drift: false });
    // The global breaker applies to every tenant.
    await statusEventually({ circuit_breaker_open: true }, testKeys.tenantB);
    await postJson(t, `${V2}/enable`, {});
    await statusEventually({ circuit_breaker_open: false });
  });

  test('a drift trip opens it "by drift" (disabled_by circuit_breaker)', async () => {
    const state = await tripByDrift();
    expect(state.disabled_by).toBe('circuit_breaker');
    await statusEventually({ circuit_breaker_open: true, disabled_by_drift: true });
    await postJson(t, `${V2}/enable`, {});
    await statusEventually({ circuit_breaker_open: false, disabled_by_drift: false });
  });

  test("a tenant's breaker opens the status of that tenant only", async () => {
    tenantAIncident = await disableV2('tenant-a only', testKeys.tenantAAdmin);
    await statusEventually({ circuit_breaker_open: true, disabled_by_drift: false }, testKeys.tenantA);
    // A global key acting for tenant-a sees it too.
    await eventually(async () => {
      expect(await status(testKeys.read, { 'X-Tenant-ID': 'tenant-a' })).toMatchObject({
        circuit_breaker_open: true,
      });
    });
    expect(await status(testKeys.tenantB)).toMatchObject({ circuit_breaker_open: false });
    expect(await status(testKeys.read)).toMatchObject({ circuit_breaker_open: false });
  });

  test("a tenant's drift trip sets disabled_by_drift for that tenant", async () => {
    // Global key reporting for tenant-b by ?tenant_id.
    for (let i = 0; i < 3; i++) {
      await postJson(t, `${V2}/drift?tenant_id=tenant-b`, { drift_score: 0.9 }, testKeys.write);
    }
    await statusEventually({ circuit_breaker_open: true, disabled_by_drift: true }, testKeys.tenantB);
    expect(await status(testKeys.tenantA)).toMatchObject({ disabled_by_drift: false });
    expect(await status(testKeys.read)).toMatchObject({ circuit_breaker_open: false });
  });
});

describe('POST /costsim/v2/reset', () => {
  test('with ?reason=: re-enables costsim_v2 and resolves the incident with that reason', async () => {
    const id = await disableV2('for reset 1');
    const res = await postJson<ResetResult>(
      t,
      `/costsim/v2/reset?reason=${encodeURIComponent('Query reason')}`,
      undefined,
    );
    expect(res.success).toBe(true);
    expect(res.message).toMatch(/re-enabled/i);
    expect(res.state).toMatchObject({ name: 'costsim_v2', tenant_id: null, open: false });
    expect(await resolvedIncident(id)).toMatchObject({
      reason: 'for reset 1',
      resolved_by: 'admin',
      resolution_notes: 'Query reason',
    });
    await statusEventually({ circuit_breaker_open: false });
  });

  test('with a JSON body {reason}', async () => {
    const { incident_id: id } = await tripByDrift();
    const res = await postJson<ResetResult>(t, '/costsim/v2/reset', { reason: 'Body reason' });
    expect(res).toMatchObject({ success: true, state: { open: false } });
    expect(await resolvedIncident(id!)).toMatchObject({
      severity: 'P1',
      resolution_notes: 'Body reason',
    });
  });

  test('with no body at all (old clients): "Manual reset"', async () => {
    const id = await disableV2('for reset 3');
    const res = await fetch(`${t.url}/costsim/v2/reset`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${testKeys.admin}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as ResetResult).state.open).toBe(false);
    expect(await resolvedIncident(id)).toMatchObject({
      reason: 'for reset 3',
      resolution_notes: 'Manual reset',
    });
  });

  test('with Content-Type: application/json but an empty body', async () => {
    const id = await disableV2('for reset 4');
    const res = await fetch(`${t.url}/costsim/v2/reset?reason=empty-body`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${testKeys.admin}`, 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(await resolvedIncident(id)).toMatchObject({
      reason: 'for reset 4',
      resolution_notes: 'empty-body',
    });
  });

  test('a closed breaker: success, nothing written, the state unchanged', async () => {
    // The history reads the event store itself: it counts every event written so far.
    const events = async () => (await getJson<BreakerHistory>(t, `${V2}/history`, testKeys.read)).total;
    const before = await events();
    const res = await postJson<ResetResult>(t, '/costsim/v2/reset', {});
    expect(res.success).toBe(true);
    expect(res.message).toMatch(/not open/i);
    expect(res.state).toMatchObject({ open: false, version: before });
    expect(await events()).toBe(before);
  });

  test("a tenant admin's reset re-enables the tenant's breaker, not the global one", async () => {
    const stays = await postJson<DisableResult>(t, `${V2}/disable`, { reason: 'global stays open' });
    const globalNow = `${V2}?min_version=${stays.state.version}`;
    const res = await postJson<ResetResult>(t, '/costsim/v2/reset?reason=tenant', {}, testKeys.tenantAAdmin);
    expect(res.state).toMatchObject({ tenant_id: 'tenant-a', open: false });
    expect(await resolvedIncident(tenantAIncident, testKeys.tenantA)).toMatchObject({
      tenant_id: 'tenant-a',
      reason: 'tenant-a only',
      resolved_by: 'tenant-a-admin',
      resolution_notes: 'tenant',
    });
    expect(await getJson<BreakerStateView>(t, globalNow, testKeys.read)).toMatchObject({
      open: true,
      version: stays.state.version,
    });
    // A global admin resets tenant-b's breaker by acting for it (X-Tenant-ID).
    const b = await t.call('POST', '/costsim/v2/reset', {
      key: testKeys.admin,
      body: { reason: 'for tenant-b' },
      headers: { 'X-Tenant-ID': 'tenant-b' },
    });
    expect(b.status).toBe(200);
    expect(((await b.json()) as ResetResult).state).toMatchObject({ tenant_id: 'tenant-b', open: false });
    expect(await getJson<BreakerStateView>(t, globalNow, testKeys.read)).toMatchObject({
      open: true,
      version: stays.state.version,
    });
    await postJson(t, '/costsim/v2/reset', {});
  });
});

describe('GET /costsim/v2/incidents', () => {
  test('lists costsim_v2 incidents of the request tenant with include_resolved, limit and total', async () => {
    const open = await postJson<DisableResult>(t, `${V2}/disable`, { reason: 'open one' });
    const all = await eventually(async () => {
      const l = await v2Incidents('include_resolved=true');
      expect(l.incidents[0]?.id).toBe(open.incident!.id);
      return l;
    });
    // Global incidents so far: manual, drift, reset 1, drift, reset 3, reset 4, global stays open, open one.
    expect(all.total).toBe(8);
    expect(all.incidents).toHaveLength(8);
    expect(all.incidents.every((i) => i.tenant_id === null && i.breaker === 'costsim_v2')).toBe(true);

    const unresolved = await v2Incidents('');
    expect(unresolved).toMatchObject({ total: 1 });
    expect(unresolved.incidents.map((i) => i.id)).toEqual([open.incident!.id]);

    const page = await v2Incidents('include_resolved=true&limit=3');
    expect(page.total).toBe(8);
    expect(page.incidents.map((i) => i.id)).toEqual(all.incidents.slice(0, 3).map((i) => i.id));

    const wide = await v2Incidents('include_resolved=true&limit=100');
    expect(wide.incidents).toHaveLength(8);
  });

  test("a tenant sees its own costsim_v2 incidents, not the global ones or another tenant's", async () => {
    const a = await v2Incidents('include_resolved=true', testKeys.tenantA);
    expect(a.total).toBe(1);
    expect(a.incidents[0]).toMatchObject({ tenant_id: 'tenant-a', reason: 'tenant-a only' });
    const b = await v2Incidents('include_resolved=true', testKeys.tenantB);
    expect(b.total).toBe(1);
    expect(b.incidents[0]).toMatchObject({ tenant_id: 'tenant-b', severity: 'P1' });
  });
});
