import { latestCanaryReports } from '../../../src/projections/status/canaryReports';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/** The page's routes over HTTP (the browser e2e drives the same ones through Chromium). */
let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ COSTSIM_BREAKERS: 'checkout' });
});
afterAll(async () => svc?.stop());

const form = (key: string) =>
  fetch(`${svc.url}/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ key }).toString(),
  });

test('GET / is the shell: HTML under a strict CSP, no data, no key needed', async () => {
  const res = await fetch(`${svc.url}/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1]!;
  const page = await res.text();
  expect(page).toContain(`<script nonce="${nonce}">`);
  expect(page).not.toContain('id="status-data"');
  expect(page).not.toMatch(/<(script|link)[^>]+(src|href)="(https?:)?\/\//); // no external asset
  expect(res.headers.get('cache-control')).toBe('no-store');
});

test('POST / with a key in the form body renders the data; a wrong key 401, no read scope 403', async () => {
  const ok = await form(testKeys.read);
  expect(ok.status).toBe(200);
  const page = await ok.text();
  expect(page).toContain('id="breaker-costsim_v2~"');
  expect(page).toContain('id="breaker-checkout~"');
  expect(page).not.toContain('data-action="'); // read-only
  expect(ok.headers.get('set-cookie')).toBeNull();

  const wrong = await form('not-a-key');
  expect(wrong.status).toBe(401);
  expect(await wrong.text()).toContain('Unknown API key.');
  const writer = await form(testKeys.write);
  expect(writer.status).toBe(403);
  expect(await writer.text()).not.toContain('id="status-data"');
});

test("GET /costsim/status: the fragment; a tenant sees its breakers and the global ones, not another tenant's", async () => {
  for (const tenant of ['tenant-a', 'tenant-b']) {
    const res = await svc.call('POST', `/costsim/breakers/costsim_v2/disable?tenant_id=${tenant}`, {
      key: testKeys.admin,
      body: { reason: `off for ${tenant}` },
    });
    expect(res.status).toBe(200);
  }
  const a = await svc.call('GET', '/costsim/status', { key: testKeys.tenantA });
  expect(a.status).toBe(200);
  const fragment = await a.text();
  expect(fragment).toContain('id="breaker-costsim_v2~tenant-a"');
  expect(fragment).toContain('id="breaker-costsim_v2~"');
  expect(fragment).not.toContain('tenant-b');
  expect(fragment).toContain('off for tenant-a');

  const unauthenticated = await svc.call('GET', '/costsim/status');
  expect(unauthenticated.status).toBe(401);
  expect(unauthenticated.headers.get('content-type')).toMatch(/^application\/problem\+json/);
});

test('canary reports: none without the table; the newest rows once it exists', async () => {
  // The canary's migration creates canary_reports; a database without it (the table moved away here) shows
  // "no canary reports" rather than failing the page.
  await svc.db.pool.query('alter table canary_reports rename to canary_reports_moved_by_test');
  try {
    expect(await latestCanaryReports(svc.db.pool, 5)).toEqual({ available: false, reports: [] });
  } finally {
    await svc.db.pool.query('alter table canary_reports_moved_by_test rename to canary_reports');
  }
  expect(await latestCanaryReports(svc.db.pool, 5)).toEqual({ available: true, reports: [] });
  await svc.db.pool.query(
    `insert into canary_reports
       (run_id, status, passed, trigger, started_at, completed_at, total_samples, kl_divergence, report)
     values ('old', 'pass', true, 'manual', now() - interval '1 day', now() - interval '1 day', 10, 0.01, '{}'),
            ('new', 'fail', false, 'manual', now(), now(), 10, 0.5, '{}')`,
  );
  try {
    const { available, reports } = await latestCanaryReports(svc.db.pool, 5);
    expect(available).toBe(true);
    expect(reports.map((r) => r.run_id)).toEqual(['new', 'old']);
    const page = await (await svc.call('GET', '/costsim/status', { key: testKeys.read })).text();
    expect(page).toContain('new');
    expect(page).not.toContain('no canary reports');
  } finally {
    await svc.db.pool.query(`delete from canary_reports where run_id in ('old', 'new')`);
  }
});
