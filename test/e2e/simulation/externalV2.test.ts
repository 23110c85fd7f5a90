import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalizeInput } from '../../../src/domain/simulation/simulationInput';
import { simulateV2 } from '../../../src/domain/simulation/v2Simulator';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

// Tests start whole services (a fresh database each): generous on a shared machine.
jest.setTimeout(60_000);
/**
 * An external V2 (COSTSIM_V2_URL) against a real HTTP server this test starts: node:http serving the
 * built-in V2 model over HTTP, or, on demand, hanging, failing with 500 or answering garbage. The server
 * counts the requests it gets, which shows when V2 is (not) called.
 */
type Mode = 'ok' | 'hang' | 'error' | 'garbage';
let mode: Mode = 'ok';
let calls = 0;
const hanging: Array<() => void> = [];

function v2Server(): Promise<Server> {
  const server = createServer((req, res) => {
    calls++;
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      if (mode === 'hang') return void hanging.push(() => res.destroy());
      if (mode === 'error') return void res.writeHead(500).end('internal');
      res.setHeader('content-type', 'application/json');
      if (mode === 'garbage')
        return void res.end(JSON.stringify({ feasible: 'yes', estimated_cost_cents: 'four' }));
      const body = JSON.parse(text) as Parameters<typeof normalizeInput>[0];
      const result = simulateV2(normalizeInput(body), {
        modelVersion: '2.0.0',
        adapterVersion: '2.0.0',
        commitSha: 'unknown',
        runtimeMs: 0,
      });
      res.end(JSON.stringify(result));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/simulate`;

const TIMEOUT_MS = 1000;
let server: Server;
let builtin: TestService;
let external: TestService;
const others: TestService[] = [];

beforeAll(async () => {
  server = await v2Server();
  [builtin, external] = await Promise.all([
    startTestService({ COSTSIM_V2_SANDBOX: 'true' }),
    startTestService({
      COSTSIM_V2_SANDBOX: 'true',
      COSTSIM_V2_URL: urlOf(server),
      COSTSIM_V2_TIMEOUT_MS: String(TIMEOUT_MS),
    }),
  ]);
}, 60_000);
afterAll(async () => {
  for (const release of hanging) release();
  await Promise.all([builtin, external, ...others].map((t) => t?.stop()));
  await new Promise((r) => server.close(r));
}, 60_000);

const request = {
  plan: [
    { skill: 'llm_invoke', params: { prompt: 'Hello world' } },
    { skill: 'http_call', params: { url: 'https://api.example.com', timeout: 0.25 }, iterations: 2 },
  ],
  budget_cents: 100,
};
async function simulate(t: TestService, body: unknown = request) {
  const started = performance.now();
  const res = await t.call('POST', '/costsim/v2/simulate', { key: testKeys.write, body });
  expect(res.status).toBe(200);
  return { body: (await res.json()) as Record<string, unknown>, ms: performance.now() - started };
}
const breakerEvents = async (t: TestService) =>
  (
    await t.db.pool.query<{ event_type: string; data: Record<string, unknown> }>(
      `select event_type, data from es_events where stream_name = 'breaker-costsim_v2' order by stream_version`,
    )
  ).rows;

test('a correct answer gives the same comparison (and V2 answer) as the built-in V2', async () => {
  const before = calls;
  const [a, b] = await Promise.all([simulate(builtin), simulate(external)]);
  expect(calls).toBe(before + 1);
  expect(b.body.v2_error).toBeUndefined();
  expect(b.body.comparison).toEqual(a.body.comparison);
  const { runtime_ms: _a, ...v2a } = a.body.v2_result as Record<string, unknown>;
  const { runtime_ms: _b, ...v2b } = b.body.v2_result as Record<string, unknown>;
  expect(v2b).toEqual(v2a);
  expect(b.body.v1_result).toEqual(a.body.v1_result);
  expect(b.body.provenance_id).toEqual(expect.any(String));
});

test('a hanging V2: V1 answers within the timeout + 200 ms, with v2_error; nothing recorded for V2', async () => {
  mode = 'hang';
  const { body, ms } = await simulate(external);
  // The one timed assertion of the suite: the issue requires it (timeout + 200 ms). Lower bound shows
  // that the timeout, not an error, ended the wait.
  expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
  expect(ms).toBeLessThan(TIMEOUT_MS + 200);
  expect(body).toMatchObject({ v1_cost_cents: 5, v2_error: `V2 timed out after ${TIMEOUT_MS} ms` });
  expect(body).not.toHaveProperty('v2_result');
  expect(body).not.toHaveProperty('provenance_id');
});

test('a 500: v2_error "V2 answered HTTP 500", V1 unaffected', async () => {
  mode = 'error';
  const { body } = await simulate(external);
  expect(body).toMatchObject({ v1_feasible: true, v1_cost_cents: 5, v2_error: 'V2 answered HTTP 500' });
  expect(body.v1_result).toEqual((await simulate(builtin)).body.v1_result);
});

test('a refused connection: v2_error "V2 unreachable", quickly', async () => {
  const closed = await v2Server();
  const url = urlOf(closed);
  await new Promise((r) => closed.close(r));
  const t = await startTestService({
    COSTSIM_V2_SANDBOX: 'true',
    COSTSIM_V2_URL: url,
    COSTSIM_V2_TIMEOUT_MS: '2000',
  });
  others.push(t);
  const { body, ms } = await simulate(t);
  expect(body).toMatchObject({ v1_cost_cents: 5, v2_error: 'V2 unreachable' });
  expect(ms).toBeLessThan(2000 + 200);
  expect((await breakerEvents(t)).map((e) => e.event_type)).toEqual([]);
});

test('five answers that fail the schema trip the breaker at P3; then V2 is not called while it is open', async () => {
  mode = 'garbage';
  for (let i = 1; i <= 5; i++) {
    const { body } = await simulate(external);
    expect(body).toMatchObject({ v1_cost_cents: 5, v2_error: 'V2 answer failed the schema: feasible' });
    expect(body).not.toHaveProperty('v2_result');
  }
  const events = await breakerEvents(external);
  const reports = events.filter((e) => e.event_type === 'SchemaErrorsReported');
  expect(reports.map((e) => [e.data.errors_before, e.data.errors_after])).toEqual([
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 4],
    [4, 0],
  ]);
  const trips = events.filter((e) => e.event_type === 'BreakerTripped');
  expect(trips.map((e) => [e.data.severity, e.data.reason])).toEqual([
    ['P3', 'Schema error threshold exceeded: 5 >= 5'],
  ]);
  // the instance that tripped it stops calling V2 at once, before its cache has reloaded
  const seen = calls;
  mode = 'ok';
  for (let i = 0; i < 5; i++)
    expect((await simulate(external)).body.v2_error).toBe('V2 disabled by circuit breaker');
  expect(calls).toBe(seen);
  // and so does every other replica once its cache has the trip: status reads the same cache
  await eventually(async () => {
    const status = (await (
      await external.call('GET', '/costsim/v2/status', { key: testKeys.read })
    ).json()) as {
      circuit_breaker_open: boolean;
    };
    expect(status.circuit_breaker_open).toBe(true);
  });
  expect((await simulate(external)).body.v2_error).toBe('V2 disabled by circuit breaker');
  expect(calls).toBe(seen);
  const metrics = await (await external.call('GET', '/metrics')).text();
  expect(metrics).toMatch(/costsim_v2_schema_errors_total(?:\{[^}]*\})? 5/);
  expect(metrics).toMatch(/costsim_v2_simulations_total\{[^}]*status="timeout"[^}]*\} 1/);
  expect(metrics).toMatch(/costsim_v2_simulation_duration_seconds_count\{[^}]*engine="v2_http"[^}]*\} 8/);
});
