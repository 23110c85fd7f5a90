import { createHash, randomUUID } from 'node:crypto';
import { expectProblem } from '../support/breakerHttp';
import { eventually } from '../support/eventually';
import { type TestService, startTestService, testKeys } from '../support/serviceHarness';
import { projectionStatuses } from '../../src/projections/runtime/lag';

/**
 * What is accepted can be stored and projected (issue #8, docs/limits.md): every value PostgreSQL or a
 * projection could not hold — instants outside years 0001–9999 or with offsets beyond ±15:59, U+0000 and
 * lone surrogates in any string or key, numbers beyond the documented bounds, nesting deeper than 32 — is
 * refused with 400 naming the field, and nothing is written anywhere. Afterwards the kill switch still
 * works: checked over the API and by counting V2 runs in provenance. A `__proto__` key is data: stored and
 * read back as sent.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ COSTSIM_V2_SANDBOX: 'true' });
});
afterAll(async () => t?.stop());

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const record = (extra: Record<string, unknown> = {}) => ({
  run_id: `poison-${randomUUID()}`,
  variant_slug: 'v2',
  source: 'manual',
  input_hash: hash('poison'),
  v1_cost: 10,
  v2_cost: 12,
  payload: { ok: true },
  ...extra,
});
const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const deepPath = (root: string, levels: number) => [root, ...Array(levels).fill('a')].join('.');
const plan = [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }];
const cursor = (c: unknown) => Buffer.from(JSON.stringify(c)).toString('base64url');
const NUL = '\u0000';

interface Case {
  name: string;
  method?: 'GET' | 'POST';
  path: string;
  key?: string;
  body?: unknown;
  /** sent as is (for what JSON.stringify cannot write: lone surrogates, 1e999) */
  raw?: string;
  field: string;
}

const cases: Case[] = [
  // Provenance: instants PostgreSQL cannot hold
  ...[
    '0000-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '2025-01-01T00:00:00+16:00',
    '9999-12-31T23:59:59-23:59',
    '0001-01-01T00:00:00+01:00',
  ].map((created_at) => ({
    name: `provenance created_at ${created_at}`,
    path: '/costsim/provenance',
    body: record({ created_at }),
    field: 'created_at',
  })),
  // Provenance: text and keys
  {
    name: 'provenance run_id with U+0000',
    path: '/costsim/provenance',
    body: record({ run_id: `a${NUL}b` }),
    field: 'run_id',
  },
  {
    name: 'provenance run_id with a lone surrogate',
    path: '/costsim/provenance',
    raw: JSON.stringify(record()).replace(/"run_id":"[^"]+"/, '"run_id":"x\\ud800"'),
    field: 'run_id',
  },
  {
    name: 'provenance payload key with U+0000',
    path: '/costsim/provenance',
    body: record({ payload: { [`k${NUL}`]: 1 } }),
    field: 'payload."k\\u0000"',
  },
  {
    name: 'provenance payload key with a lone surrogate',
    path: '/costsim/provenance',
    raw: JSON.stringify(record()).replace('"payload":{"ok":true}', '"payload":{"k\\udc00":1}'),
    field: 'payload."k\\udc00"',
  },
  {
    name: 'provenance payload value with U+0000, deep inside',
    path: '/costsim/provenance',
    body: record({ payload: { input: { plan: [{ params: { prompt: NUL } }] } } }),
    field: 'payload.input.plan.0.params.prompt',
  },
  {
    name: 'provenance payload 40 levels deep',
    path: '/costsim/provenance',
    body: record({ payload: nested(40) }),
    field: deepPath('payload', 31),
  },
  // Provenance: numbers for float8 columns
  {
    name: 'provenance v1_cost above 1e12',
    path: '/costsim/provenance',
    body: record({ v1_cost: 1e13 }),
    field: 'v1_cost',
  },
  {
    name: 'provenance v2_cost 1e999 (Infinity once parsed)',
    path: '/costsim/provenance',
    raw: JSON.stringify(record()).replace('"v2_cost":12', '"v2_cost":1e999'),
    field: 'v2_cost',
  },
  {
    name: 'provenance runtime_ms 1e300',
    path: '/costsim/provenance',
    body: record({ runtime_ms: 1e300 }),
    field: 'runtime_ms',
  },
  {
    name: 'provenance batch: one bad record among good ones fails the batch',
    path: '/costsim/provenance',
    body: { records: [record(), record(), record(), record({ run_id: NUL }), record()] },
    field: 'records.3.run_id',
  },
  // Breaker commands
  ...[
    '9999-12-31T23:59:59-23:59',
    '0000-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '2099-01-01T00:00:00+16:00',
  ].map((disabled_until) => ({
    name: `disable disabled_until ${disabled_until}`,
    path: '/costsim/breakers/costsim_v2/disable',
    body: { reason: 'poison', disabled_until },
    field: 'disabled_until',
  })),
  {
    name: 'disable reason with U+0000',
    path: '/costsim/breakers/costsim_v2/disable',
    body: { reason: `a${NUL}` },
    field: 'reason',
  },
  {
    name: 'disable reason with a lone surrogate',
    path: '/costsim/breakers/costsim_v2/disable',
    raw: '{"reason":"\\udfff"}',
    field: 'reason',
  },
  {
    name: 'drift details key with U+0000',
    path: '/costsim/breakers/costsim_v2/drift',
    body: { drift_score: 0.1, details: { [NUL]: 'x' } },
    key: testKeys.write,
    field: 'details."\\u0000"',
  },
  {
    name: 'drift details value with a lone surrogate',
    path: '/costsim/breakers/costsim_v2/drift',
    raw: '{"drift_score":0.1,"details":{"note":"\\ud83d"}}',
    key: testKeys.write,
    field: 'details.note',
  },
  {
    name: 'drift details 40 levels deep',
    path: '/costsim/breakers/costsim_v2/drift',
    body: { drift_score: 0.1, details: nested(40) },
    key: testKeys.write,
    field: deepPath('details', 31),
  },
  {
    name: 'schema-errors details with Infinity',
    path: '/costsim/breakers/costsim_v2/schema-errors',
    raw: '{"error_count":1,"details":{"n":[-1e999]}}',
    key: testKeys.write,
    field: 'details.n.0',
  },
  // Simulate (the group-commit neighbour of issue #8 point 4)
  {
    name: 'simulate run_id with U+0000',
    path: '/costsim/v2/simulate',
    body: { plan, run_id: `run${NUL}` },
    key: testKeys.write,
    field: 'run_id',
  },
  {
    name: 'simulate params key with U+0000',
    path: '/costsim/v2/simulate',
    body: { plan: [{ skill: 'llm_invoke', params: { [`p${NUL}`]: 1 } }] },
    key: testKeys.write,
    field: 'plan.0.params."p\\u0000"',
  },
  // Queries
  {
    name: 'history until year 0',
    method: 'GET',
    path: '/costsim/breakers/costsim_v2/history?until=0000-01-01T00:00:00Z',
    field: 'query.until',
  },
  {
    name: 'provenance ?run_id=%00',
    method: 'GET',
    path: '/costsim/provenance?run_id=a%00b',
    field: 'query.run_id',
  },
  {
    name: 'provenance ?start_date=0000-01-01',
    method: 'GET',
    path: '/costsim/provenance?start_date=0000-01-01',
    field: 'query.start_date',
  },
  {
    name: 'drift-stats ?end_date=10000-01-01',
    method: 'GET',
    path: '/costsim/provenance/drift-stats?end_date=10000-01-01',
    field: 'query.end_date',
  },
  ...[
    ['a bad uuid', { created_at: '2026-01-01T00:00:00.000Z', id: 'not-a-uuid' }],
    ['a date in year 0', { created_at: '0000-01-01T00:00:00.000Z', id: randomUUID() }],
    ['a huge date', { created_at: '+275760-09-13T00:00:00.000Z', id: randomUUID() }],
    ['numbers', { created_at: 1, id: 2 }],
    ['an extra field', { created_at: '2026-01-01T00:00:00.000Z', id: randomUUID(), x: 1 }],
    ['an array', ['2026-01-01T00:00:00.000Z', randomUUID()]],
  ].map(([what, c]) => ({
    name: `provenance cursor with ${String(what)}`,
    method: 'GET' as const,
    path: `/costsim/provenance?cursor=${cursor(c)}`,
    field: 'query.cursor',
  })),
  {
    name: 'provenance cursor that is base64 of no JSON',
    method: 'GET',
    path: `/costsim/provenance?cursor=${Buffer.from('{"created_at":').toString('base64url')}`,
    field: 'query.cursor',
  },
];

async function send(c: Case): Promise<Response> {
  const method = c.method ?? 'POST';
  const key = c.key ?? (method === 'GET' ? testKeys.read : testKeys.admin);
  if (c.raw !== undefined) {
    return fetch(`${t.url}${c.path}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: c.raw,
    });
  }
  return t.call(method, c.path, { key, ...(c.body !== undefined ? { body: c.body } : {}) });
}

/** Everything a poison input could have touched: the log and every read table. */
async function everything() {
  const q = async (sql: string) => (await t.db.pool.query(sql)).rows;
  return {
    events: await q('select count(*)::int as n, max(global_position) as max from es_events'),
    state: await q('select * from cb_state order by 1, 2'),
    incidents: await q('select * from cb_incidents order by id'),
    provenance: await q('select count(*)::int as n from provenance'),
    alerts: await q('select count(*)::int as n from alert_queue'),
  };
}

async function caughtUp() {
  await eventually(async () => {
    const statuses = await projectionStatuses(t.db.pool);
    expect(statuses.filter((s) => s.lagEvents > 0 || s.failure)).toEqual([]);
  });
}

/** V2 rows in provenance for these run ids: how often V2 actually ran. */
async function v2Runs(runIds: readonly string[]): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>(
    `select count(*)::int as n from provenance where variant_slug = 'v2' and run_id = any($1)`,
    [runIds],
  );
  return rows[0]!.n;
}

describe('poison inputs', () => {
  let before: Awaited<ReturnType<typeof everything>>;
  beforeAll(async () => {
    await caughtUp();
    before = await everything();
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s → 400 naming the field', async (_, c) => {
    const { problem, text } = await expectProblem(await send(c), 400);
    expect(problem.errors?.map((e) => e.path)).toContain(c.field);
    expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/);
    expect(text).not.toMatch(/jsonb|syntax|out of range:|unicode escape/i); // no database text
  });

  test('nothing was written: not an event, not a row of any read table', async () => {
    await caughtUp();
    expect(await everything()).toEqual(before);
  });
});

describe('__proto__ is data: stored and read back exactly as sent', () => {
  test('in a provenance payload', async () => {
    const runId = `proto-${randomUUID()}`;
    const raw = JSON.stringify(record({ run_id: runId })).replace(
      '"payload":{"ok":true}',
      '"payload":{"__proto__":{"polluted":true},"constructor":{"prototype":1},"a":1}',
    );
    const res = await fetch(`${t.url}/costsim/provenance`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${testKeys.write}`, 'Content-Type': 'application/json' },
      body: raw,
    });
    expect(res.status).toBe(201);
    const text = await eventually(async () => {
      const r = await t.call('GET', `/costsim/provenance?run_id=${runId}`, { key: testKeys.read });
      const body = await r.text();
      expect(body).toContain(runId);
      return body;
    });
    // jsonb keeps keys, not their order: compare as JSON, own properties only.
    const [listed] = (JSON.parse(text) as { records: Array<{ payload: object }> }).records;
    expect(Object.getOwnPropertyDescriptor(listed!.payload, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.keys(listed!.payload).sort()).toEqual(['__proto__', 'a', 'constructor']);
    expect(Object.getPrototypeOf(listed!.payload)).toBe(Object.prototype);
    const { rows } = await t.db.pool.query<{ keys: string[] }>(
      `select array(select jsonb_object_keys(payload)) as keys from provenance where run_id = $1`,
      [runId],
    );
    expect(rows[0]!.keys.sort()).toEqual(['__proto__', 'a', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('in breaker details and in simulate params', async () => {
    const res = await fetch(`${t.url}/costsim/breakers/costsim_v2/drift`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${testKeys.write}`, 'Content-Type': 'application/json' },
      body: '{"drift_score":0.1,"details":{"__proto__":{"x":1}}}',
    });
    expect(res.status).toBe(200);
    const history = await (
      await t.call('GET', '/costsim/breakers/costsim_v2/history', { key: testKeys.read })
    ).text();
    expect(history).toContain('"details":{"__proto__":{"x":1}}');

    const runId = `proto-sim-${randomUUID()}`;
    const sim = await fetch(`${t.url}/costsim/v2/simulate`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${testKeys.write}`, 'Content-Type': 'application/json' },
      body: `{"plan":[{"skill":"llm_invoke","params":{"prompt":"Hello world","__proto__":{"y":2}}}],"run_id":"${runId}"}`,
    });
    expect(sim.status).toBe(200);
    await eventually(async () => {
      const { rows } = await t.db.pool.query<{ params: string }>(
        `select (payload->'input'->'plan'->0->'params')::text as params from provenance where run_id = $1`,
        [runId],
      );
      expect(rows[0]?.params).toBe('{"prompt": "Hello world", "__proto__": {"y": 2}}');
    });
  });
});

describe('afterwards the kill switch still works', () => {
  test('every projection is current and none failed', async () => {
    await caughtUp();
  });

  test('a costsim_v2 disable is in force at once: the API says open and V2 stops running', async () => {
    const simulateRuns = async (n: number) => {
      const runIds = Array.from({ length: n }, () => `after-${randomUUID()}`);
      for (const run_id of runIds) {
        const r = await t.call('POST', '/costsim/v2/simulate', {
          key: testKeys.write,
          body: { plan, run_id },
        });
        expect(r.status).toBe(200);
      }
      return runIds;
    };
    const open = await simulateRuns(5);
    await eventually(async () => expect(await v2Runs(open)).toBe(5)); // V2 runs while closed

    const disable = await t.call('POST', '/costsim/breakers/costsim_v2/disable', {
      key: testKeys.admin,
      body: { reason: 'after the poison', ttl_hours: 0 },
    });
    expect(disable.status).toBe(200);
    const status = await (await t.call('GET', '/costsim/v2/status', { key: testKeys.read })).json();
    expect(status).toMatchObject({ circuit_breaker_open: true });
    const disabled = await simulateRuns(10);
    await caughtUp();
    expect(await v2Runs(disabled)).toBe(0);
  });

  test('drift statistics work at any size and with any stored value: no float overflow in SQL', async () => {
    // Rows the edge would refuse now (costs near float8's limit), as older data might hold, plus volume.
    await t.db.pool.query(
      `insert into provenance (id, variant_slug, source, input_hash, v1_cost, v2_cost, cost_delta, payload, created_at)
       select gen_random_uuid(), 'canary', 'backfill', 'x', 0, c, c, '{}', now()
         from (select case when g % 2 = 0 then 1.7e308 else -1.7e308 end as c from generate_series(1, 1000) g
               union all select (g % 100)::float8 from generate_series(1, 100000) g) v`,
    );
    const res = await t.call('GET', '/costsim/provenance/drift-stats?group_by=variant', {
      key: testKeys.read,
    });
    const text = await res.text();
    expect([res.status, text]).toEqual([200, expect.any(String)]);
    const stats = JSON.parse(text) as { total: number; max_delta: number; groups: Record<string, unknown> };
    expect(stats.total).toBeGreaterThanOrEqual(101_000);
    expect(stats.max_delta).toBe(1.7e308);
    expect(stats.groups.canary).toMatchObject({
      total: 101_000,
      min_delta: -1.7e308,
      p50_delta: expect.any(Number),
    });
    await t.db.pool.query(`delete from provenance where source = 'backfill' and input_hash = 'x'`);
  }, 60_000); // 101 000 rows written and aggregated: far past jest's 5 s default on a busy 2-core machine
});
