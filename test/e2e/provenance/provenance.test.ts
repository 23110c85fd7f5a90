import { createHash } from 'node:crypto';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/** docs/api.md "Provenance" over HTTP: writes return real ids in order, reads page without skips, stats are exact. */
let t: TestService;
afterAll(async () => t.stop());

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const record = (i: number, extra: Record<string, unknown> = {}) => ({
  run_id: `run-${i % 7}`,
  variant_slug: i % 3 === 0 ? 'v1' : 'v2',
  source: 'sandbox',
  input_hash: hash(`input-${i}`),
  v1_cost: 10 + (i % 5),
  v2_cost: 10 + ((i * 3) % 7),
  drift_score: (i % 10) / 10,
  verdict: 'match',
  payload: { i },
  created_at: new Date(Date.UTC(2026, 10, 1 + (i % 20), 12, 0, 0, i)).toISOString(),
  ...extra,
});
interface Listed {
  records: Array<{
    id: string;
    run_id: string;
    cost_delta: number | null;
    tenant_id: string | null;
    created_at: string;
  }>;
  next_cursor: string | null;
}
const list = async (query: string, key: string = testKeys.read) => {
  const res = await t.call('GET', `/costsim/provenance${query}`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as Listed;
};
const count = async () => Number((await t.db.pool.query('select count(*) from provenance')).rows[0].count);

// The data set every test reads: 500 records written in one batch before any test runs.
const written = Array.from({ length: 500 }, (_, i) => record(i));
let writeStatus = 0;
let ids: string[] = [];
beforeAll(async () => {
  t = await startTestService();
  const res = await t.call('POST', '/costsim/provenance', {
    key: testKeys.write,
    body: { records: written },
  });
  writeStatus = res.status;
  ids = ((await res.json()) as { ids: string[] }).ids;
  await eventually(async () => expect(await count()).toBe(500));
});

test('a batch write returns every real id in order; every record lands once, with cost_delta derived', async () => {
  const records = written;
  expect(writeStatus).toBe(201);
  expect(ids).toHaveLength(500);
  expect(new Set(ids).size).toBe(500);
  const { rows } = await t.db.pool.query<{ id: string; payload: { i: number }; cost_delta: number }>(
    `select id, payload, cost_delta from provenance where id = any($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  ids.forEach((id, i) => {
    expect(byId.get(id)?.payload.i).toBe(i); // the i-th id is the i-th record
    expect(byId.get(id)?.cost_delta).toBe(records[i]!.v2_cost - records[i]!.v1_cost);
  });
});

test('pages newest first with a cursor: every matching record exactly once, filters and inclusive dates', async () => {
  const runIds: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Listed = await list(`?run_id=run-3&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    runIds.push(...page.records.map((r) => r.id));
    for (let k = 1; k < page.records.length; k++) {
      expect(page.records[k - 1]!.created_at >= page.records[k]!.created_at).toBe(true);
    }
    cursor = page.next_cursor;
  } while (cursor);
  const { rows } = await t.db.pool.query<{ id: string }>(`select id from provenance where run_id = 'run-3'`);
  expect(new Set(runIds).size).toBe(runIds.length);
  expect([...runIds].sort()).toEqual(rows.map((r) => r.id).sort());

  // end_date as a day is inclusive of the whole day
  const day = await list('?start_date=2026-11-05&end_date=2026-11-05&limit=1000');
  expect(day.records.length).toBeGreaterThan(0);
  expect(day.records.every((r) => r.created_at.startsWith('2026-11-05'))).toBe(true);
  const v1 = await list('?variant_slug=v1&limit=1000');
  const { rows: v1Rows } = await t.db.pool.query(
    `select count(*)::int as n from provenance where variant_slug = 'v1'`,
  );
  expect(v1.records).toHaveLength(v1Rows[0].n);
});

test('drift statistics equal those computed from the records, overall and per variant', async () => {
  // A global key without tenant_id reads every tenant's records: so does this query.
  const { rows } = await t.db.pool.query<{ variant_slug: string; cost_delta: number }>(
    `select variant_slug, cost_delta from provenance where cost_delta is not null`,
  );
  const stats = (values: number[]) => {
    const n = values.length;
    const avg = values.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - avg) ** 2, 0) / (n - 1));
    return { total: n, avg, min: Math.min(...values), max: Math.max(...values), sd };
  };
  const res = await t.call('GET', '/costsim/provenance/drift-stats?group_by=variant', { key: testKeys.read });
  const body = (await res.json()) as {
    total: number;
    avg_delta: number;
    min_delta: number;
    max_delta: number;
    stddev_delta: number;
    p50_delta: number;
    groups: Record<string, { total: number; avg_delta: number }>;
  };
  const all = stats(rows.map((r) => r.cost_delta));
  expect(body.total).toBe(all.total);
  expect(body.avg_delta).toBeCloseTo(all.avg, 9);
  expect([body.min_delta, body.max_delta]).toEqual([all.min, all.max]);
  expect(body.stddev_delta).toBeCloseTo(all.sd, 9);
  expect(body.p50_delta).toBeGreaterThanOrEqual(all.min);
  for (const variant of ['v1', 'v2']) {
    const group = stats(rows.filter((r) => r.variant_slug === variant).map((r) => r.cost_delta));
    expect(body.groups[variant]!.total).toBe(group.total);
    expect(body.groups[variant]!.avg_delta).toBeCloseTo(group.avg, 9);
  }
});

test('tenants: a tenant key writes only for itself and reads only its own records', async () => {
  const own = await t.call('POST', '/costsim/provenance', { key: testKeys.tenantA, body: record(1) });
  expect(own.status).toBe(201);
  const other = await t.call('POST', '/costsim/provenance', {
    key: testKeys.tenantA,
    body: record(2, { tenant_id: 'tenant-b' }),
  });
  expect(other.status).toBe(403);
  await eventually(async () => {
    const mine = await list('?limit=1000', testKeys.tenantA);
    expect(mine.records.length).toBe(1);
    expect(mine.records[0]!.tenant_id).toBe('tenant-a');
  });
  expect(
    (await t.call('GET', '/costsim/provenance?tenant_id=tenant-b', { key: testKeys.tenantA })).status,
  ).toBe(403);
  expect((await list('?limit=1000', testKeys.tenantB)).records).toEqual([]);
});

test('bad input is a problem naming the field, and writes nothing', async () => {
  const before = await t.db.pool.query(`select count(*)::int as n from es_events`);
  const cases: Array<[unknown, string]> = [
    [{ ...record(1), input_hash: 'abc' }, 'input_hash'],
    [{ ...record(1), variant_slug: 'v3' }, 'variant_slug'],
    [{ ...record(1), v1_cost: '12' }, 'v1_cost'],
    [{ ...record(1), drift_score: 1.5 }, 'drift_score'],
    [{ ...record(1), cost_delta: 5 }, 'cost_delta'],
    [{ records: [] }, 'records'],
    [{ records: [record(1), { ...record(2), source: 'guess' }] }, 'records.1.source'],
  ];
  for (const [body, field] of cases) {
    const res = await t.call('POST', '/costsim/provenance', { key: testKeys.write, body });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: Array<{ path: string }> };
    expect(problem.errors.map((e) => e.path)).toContain(field);
  }
  expect((await t.call('GET', '/costsim/provenance?cursor=bogus', { key: testKeys.read })).status).toBe(400);
  expect((await t.call('GET', '/costsim/provenance?limit=0', { key: testKeys.read })).status).toBe(400);
  expect((await t.call('POST', '/costsim/provenance', { key: testKeys.read, body: record(1) })).status).toBe(
    403,
  );
  const after = await t.db.pool.query(`select count(*)::int as n from es_events`);
  expect(after.rows[0].n).toBe(before.rows[0].n);
});

test('concurrent writes lose nothing: 16 writers x 50 records, every id projected once', async () => {
  const replies = await Promise.all(
    Array.from({ length: 16 }, (_, w) =>
      t.call('POST', '/costsim/provenance', {
        key: testKeys.write,
        body: {
          records: Array.from({ length: 50 }, (_, i) => record(1000 + w * 50 + i, { run_id: `burst-${w}` })),
        },
      }),
    ),
  );
  expect(replies.map((r) => r.status)).toEqual(Array(16).fill(201));
  const burstIds = (
    await Promise.all(replies.map(async (r) => ((await r.json()) as { ids: string[] }).ids))
  ).flat();
  expect(new Set(burstIds).size).toBe(800);
  await eventually(async () => {
    const { rows } = await t.db.pool.query<{ n: number }>(
      `select count(*)::int as n from provenance where id = any($1::uuid[])`,
      [burstIds],
    );
    expect(rows[0]!.n).toBe(800);
  });
});
