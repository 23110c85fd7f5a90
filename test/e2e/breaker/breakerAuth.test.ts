import { type BreakerStateView, command, expectProblem, settle, snapshot } from '../../support/breakerHttp';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Authentication, scopes, tenants and request ids on every breaker route (docs/api.md "Conventions"):
 * no/unknown key → 401, missing scope → 403, a tenant key can neither read nor change another tenant's
 * breaker, every error is problem+json and none of them writes anything.
 */

type Scope = 'read' | 'write' | 'admin';
interface Route {
  method: 'GET' | 'POST';
  path: string;
  scope: Scope;
  body?: unknown;
}

/** Every breaker route, with a valid request body. */
const routes: Route[] = [
  { method: 'GET', path: '/costsim/breakers', scope: 'read' },
  { method: 'GET', path: '/costsim/breakers/auth-x', scope: 'read' },
  { method: 'POST', path: '/costsim/breakers/auth-x/disable', scope: 'admin', body: { reason: 'auth test' } },
  { method: 'POST', path: '/costsim/breakers/auth-x/enable', scope: 'admin', body: {} },
  { method: 'POST', path: '/costsim/breakers/auth-x/drift', scope: 'write', body: { drift_score: 0.1 } },
  {
    method: 'POST',
    path: '/costsim/breakers/auth-x/schema-errors',
    scope: 'write',
    body: { error_count: 1 },
  },
  { method: 'GET', path: '/costsim/breakers/auth-x/incidents', scope: 'read' },
  { method: 'GET', path: '/costsim/breakers/auth-x/history', scope: 'read' },
  { method: 'GET', path: '/costsim/v2/status', scope: 'read' },
  { method: 'POST', path: '/costsim/v2/reset', scope: 'admin' },
  { method: 'GET', path: '/costsim/v2/incidents', scope: 'read' },
];
/** Routes that address one breaker and so take ?tenant_id=. */
const addressed = routes.filter((r) => r.path.includes('/auth-x'));
const label = (r: Route) => `${r.method} ${r.path}`;
const withQuery = (path: string, query: string) => `${path}${path.includes('?') ? '&' : '?'}${query}`;

/** A key lacking the route's scope: write does not imply read; admin implies both. */
const keysWithout: Record<Scope, Array<[string, string]>> = {
  read: [['write', testKeys.write]],
  write: [['read', testKeys.read]],
  admin: [
    ['read', testKeys.read],
    ['write', testKeys.write],
    ['tenant-a read+write', testKeys.tenantA],
  ],
};
const keyWith: Record<Scope, string> = { read: testKeys.read, write: testKeys.write, admin: testKeys.admin };

let t: TestService;

beforeAll(async () => {
  t = await startTestService({ COSTSIM_BREAKERS: 'auth-x,ids,x' });
});
afterAll(async () => t?.stop());

const send = (r: Route, opts: { key?: string; headers?: Record<string, string>; path?: string } = {}) =>
  t.call(r.method, opts.path ?? r.path, {
    ...(opts.key ? { key: opts.key } : {}),
    ...(r.body !== undefined ? { body: r.body } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });

describe('authentication and scopes', () => {
  test.each(routes.map((r) => [label(r), r] as const))('%s: happy path with just its scope', async (_, r) => {
    const res = await send(r, { key: keyWith[r.scope] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
  });

  test('no key, an unknown key or a malformed Authorization header → 401 problem on every route, nothing written', async () => {
    const before = await snapshot(t.db);
    for (const r of routes) {
      for (const headers of [
        {} as Record<string, string>,
        { Authorization: 'Bearer not-a-key' },
        { Authorization: `Basic ${testKeys.admin}` },
        { Authorization: `Bearer ${testKeys.admin} extra` },
      ]) {
        const res = await send(r, { headers });
        const { problem } = await expectProblem(res, 401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        expect(problem.title).toBe('Unauthorized');
      }
    }
    expect(await snapshot(t.db)).toEqual(before);
  });

  test('a key without the route scope → 403 problem on every route, nothing written', async () => {
    const before = await snapshot(t.db);
    for (const r of routes) {
      for (const [who, key] of keysWithout[r.scope]) {
        const res = await send(r, { key });
        const { problem } = await expectProblem(res, 403);
        expect([label(r), who, problem.detail]).toEqual([label(r), who, expect.stringContaining(r.scope)]);
      }
    }
    expect(await snapshot(t.db)).toEqual(before);
  });

  test('admin implies write and read', async () => {
    const drift = await send(
      routes.find((r) => r.path.endsWith('/drift'))!,
      { key: testKeys.admin },
    );
    expect(drift.status).toBe(200);
    const status = await send(
      routes.find((r) => r.path === '/costsim/v2/status')!,
      { key: testKeys.admin },
    );
    expect(status.status).toBe(200);
  });
});

describe('tenant isolation', () => {
  let tenantAState: BreakerStateView;
  beforeAll(async () => {
    // tenant-a's own costsim_v2 breaker, opened by tenant-a's admin key (no tenant_id: the key's tenant).
    tenantAState = await command(
      t,
      '/costsim/breakers/costsim_v2/disable',
      { reason: 'tenant-a only' },
      testKeys.tenantAAdmin,
    );
    await command(t, '/costsim/breakers/auth-x/drift', { drift_score: 0.5 }, testKeys.tenantA);
    await settle(t.db);
  });

  test("a tenant key's commands address its own breaker, not the global one", async () => {
    expect(tenantAState).toMatchObject({ name: 'costsim_v2', tenant_id: 'tenant-a', open: true, version: 1 });
    const global = await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.read });
    expect(await global.json()).toMatchObject({ tenant_id: null, open: false, version: 0 });
    const own = await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.tenantA });
    expect(await own.json()).toMatchObject({
      tenant_id: 'tenant-a',
      open: true,
      disabled_reason: 'tenant-a only',
    });
  });

  test("another tenant's key reads its own (default) breaker under the same name", async () => {
    const res = await t.call('GET', '/costsim/breakers/costsim_v2', { key: testKeys.tenantB });
    expect(await res.json()).toMatchObject({ tenant_id: 'tenant-b', open: false, version: 0 });
    const inc = await t.call('GET', '/costsim/breakers/costsim_v2/incidents?include_resolved=true', {
      key: testKeys.tenantB,
    });
    expect(await inc.json()).toEqual({ incidents: [], total: 0 });
    const hist = await t.call('GET', '/costsim/breakers/costsim_v2/history', { key: testKeys.tenantB });
    expect(((await hist.json()) as { events: unknown[] }).events).toEqual([]);
    const legacy = await t.call('GET', '/costsim/v2/incidents?include_resolved=true', {
      key: testKeys.tenantB,
    });
    expect(((await legacy.json()) as { total: number }).total).toBe(0);
    const status = await t.call('GET', '/costsim/v2/status', { key: testKeys.tenantB });
    expect(await status.json()).toMatchObject({ circuit_breaker_open: false });
  });

  test("?tenant_id of another tenant → 403 on every breaker route; tenant-a's breaker is unchanged", async () => {
    const before = await snapshot(t.db);
    for (const r of addressed) {
      for (const key of [testKeys.tenantB, r.scope === 'admin' ? testKeys.tenantAAdmin : testKeys.tenantA]) {
        const other = key === testKeys.tenantB ? 'tenant-a' : 'tenant-b';
        const res = await send(r, { key, path: withQuery(r.path, `tenant_id=${other}`) });
        // tenant-b's read/write key lacks admin: a 403 either way, never a change.
        await expectProblem(res, 403);
      }
    }
    // A tenant key may name its own tenant explicitly.
    const own = await t.call('GET', '/costsim/breakers/costsim_v2?tenant_id=tenant-a', {
      key: testKeys.tenantA,
    });
    expect(own.status).toBe(200);
    expect(await snapshot(t.db)).toEqual(before);
  });

  test('X-Tenant-ID of another tenant on a tenant key → 403 on every route', async () => {
    const before = await snapshot(t.db);
    for (const r of routes) {
      const key = r.scope === 'admin' ? testKeys.tenantAAdmin : testKeys.tenantA;
      const res = await send(r, { key, headers: { 'X-Tenant-ID': 'tenant-b' } });
      const { problem } = await expectProblem(res, 403);
      expect(problem.detail).toContain('tenant-b');
    }
    // Its own tenant in the header is fine.
    const own = await t.call('GET', '/costsim/breakers/costsim_v2', {
      key: testKeys.tenantA,
      headers: { 'X-Tenant-ID': 'tenant-a' },
    });
    expect(((await own.json()) as BreakerStateView).tenant_id).toBe('tenant-a');
    expect(await snapshot(t.db)).toEqual(before);
  });

  test("a tenant key cannot change another tenant's breaker through drift, schema errors, disable, enable or reset", async () => {
    const before = await snapshot(t.db);
    const attempts: Array<[string, unknown, string]> = [
      ['/costsim/breakers/costsim_v2/drift?tenant_id=tenant-a', { drift_score: 0.9 }, testKeys.tenantB],
      [
        '/costsim/breakers/costsim_v2/schema-errors?tenant_id=tenant-a',
        { error_count: 50 },
        testKeys.tenantB,
      ],
      // tenant-a's admin key aiming at tenant-b (and tenant-b's key, which has no admin scope, at tenant-a).
      ['/costsim/breakers/costsim_v2/disable?tenant_id=tenant-b', { reason: 'x' }, testKeys.tenantAAdmin],
      ['/costsim/breakers/costsim_v2/enable?tenant_id=tenant-b', {}, testKeys.tenantAAdmin],
      ['/costsim/breakers/costsim_v2/enable?tenant_id=tenant-a', {}, testKeys.tenantB],
      ['/costsim/v2/reset', {}, testKeys.tenantB],
    ];
    for (const [path, body, key] of attempts) {
      const res = await t.call('POST', path, { key, body });
      await expectProblem(res, 403);
    }
    expect(await snapshot(t.db)).toEqual(before);
  });

  test("a global admin key addresses tenant-a's breaker with ?tenant_id=tenant-a or X-Tenant-ID: tenant-a", async () => {
    const viaQuery = await t.call('GET', '/costsim/breakers/costsim_v2?tenant_id=tenant-a', {
      key: testKeys.admin,
    });
    expect(await viaQuery.json()).toMatchObject({ tenant_id: 'tenant-a', open: true, version: 1 });
    const viaHeader = await t.call('GET', '/costsim/breakers/costsim_v2', {
      key: testKeys.read,
      headers: { 'X-Tenant-ID': 'tenant-a' },
    });
    expect(await viaHeader.json()).toMatchObject({ tenant_id: 'tenant-a', open: true });

    const amended = await command(t, '/costsim/breakers/costsim_v2/disable?tenant_id=tenant-a', {
      reason: 'amended by a global admin',
    });
    expect(amended).toMatchObject({ tenant_id: 'tenant-a', open: true, version: 2 });
    const enabled = await command(t, '/costsim/breakers/costsim_v2/enable?tenant_id=tenant-a', {});
    expect(enabled).toMatchObject({ tenant_id: 'tenant-a', open: false, version: 3 });
    // The global breaker of the same name was never touched.
    const global = await t.call('GET', '/costsim/breakers/costsim_v2/history', { key: testKeys.read });
    expect(((await global.json()) as { events: unknown[] }).events).toEqual([]);
  });
});

describe('request ids and unknown routes', () => {
  const ids = { 'X-Request-ID': 'req-breaker-1', 'X-Correlation-ID': 'corr-breaker-1' };

  test.each([
    ['200', 200, () => t.call('GET', '/costsim/breakers/ids', { key: testKeys.read, headers: ids })],
    ['401', 401, () => t.call('GET', '/costsim/breakers/ids', { headers: ids })],
    [
      '403',
      403,
      () => t.call('POST', '/costsim/breakers/ids/disable', { key: testKeys.read, body: {}, headers: ids }),
    ],
    [
      '400',
      400,
      () => t.call('POST', '/costsim/breakers/ids/drift', { key: testKeys.write, body: {}, headers: ids }),
    ],
    ['404', 404, () => t.call('GET', '/costsim/nope', { key: testKeys.read, headers: ids })],
    [
      '412',
      412,
      () =>
        t.call('POST', '/costsim/breakers/ids/enable', {
          key: testKeys.admin,
          body: {},
          headers: { ...ids, 'If-Match': '"9"' },
        }),
    ],
  ])('X-Request-ID and X-Correlation-ID are echoed on a %s', async (_, status, request) => {
    const res = await request();
    expect(res.status).toBe(status);
    expect(res.headers.get('x-request-id')).toBe('req-breaker-1');
    expect(res.headers.get('x-correlation-id')).toBe('corr-breaker-1');
    if (status >= 400) expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  test('without ids the service generates one; the correlation id defaults to the request id', async () => {
    const generated = await t.call('GET', '/costsim/breakers/ids', { key: testKeys.read });
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers.get('x-correlation-id')).toBe(id);

    const onlyRequest = await t.call('GET', '/costsim/breakers/ids', {
      headers: { 'X-Request-ID': 'only-request' },
    });
    expect(onlyRequest.status).toBe(401);
    expect(onlyRequest.headers.get('x-correlation-id')).toBe('only-request');
  });

  test.each([
    ['GET', '/costsim/nope', testKeys.read],
    ['POST', '/costsim/breakers/x/explode', testKeys.admin],
    ['GET', '/costsim/breakers/x/incidents/extra', testKeys.read],
    ['GET', '/no/such/route', undefined],
  ])('unknown route %s %s → 404 problem+json', async (method, path, key) => {
    const res = await t.call(method, path, key ? { key } : {});
    const { problem } = await expectProblem(res, 404);
    expect(problem.title).toBe('Not Found');
  });

  test.each([
    ['DELETE', '/costsim/breakers/costsim_v2', 'GET, HEAD, PUT'],
    ['GET', '/costsim/breakers/costsim_v2/disable', 'POST'],
    ['PUT', '/costsim/alerts/stats', 'GET, HEAD'],
    ['POST', '/health/ready', 'GET, HEAD'],
  ])('a known path with the wrong method: %s %s → 405 with Allow: %s', async (method, path, allow) => {
    const res = await t.call(method, path, { key: testKeys.admin });
    const { problem } = await expectProblem(res, 405);
    expect(problem.title).toBe('Method Not Allowed');
    expect(res.headers.get('allow')).toBe(allow);
  });
});
