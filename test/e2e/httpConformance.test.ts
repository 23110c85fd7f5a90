import { type TestService, startTestService, testKeys } from '../support/serviceHarness';
import { expectProblem, snapshot } from '../support/breakerHttp';
import { parseRawResponse, rawHttp } from '../support/rawHttp';
import { capturingLogger } from '../support/logCapture';
import { eventually } from '../support/eventually';

/**
 * HTTP conformance as docs/api.md Conventions says (If-Match lists and weak tags, authentication before the
 * body), and the HTTP findings of issue #8 point 7: repeated Authorization, a body that is not what its
 * Content-Encoding says, parser-level answers as problem+json, slow and greedy clients bounded, /metrics
 * without tenant ids or breaker names for an unauthenticated scraper; plus the traceparent logged.
 */
const METRICS_TOKEN = 'metrics-token-0123456789';
const { logger, lines: logLines } = capturingLogger();

let t: TestService;
beforeAll(async () => {
  t = await startTestService(
    {
      COSTSIM_BREAKERS: 'conf',
      COSTSIM_METRICS_TOKEN: METRICS_TOKEN,
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_MAX_CONNECTIONS_PER_CLIENT: '8',
    },
    undefined,
    { logger },
  );
  // A tenant breaker gives /metrics tenant and breaker labels to hide.
  const res = await t.call('POST', '/costsim/breakers/conf/disable?tenant_id=secret-tenant', {
    key: testKeys.admin,
    body: { reason: 'seed' },
  });
  expect(res.status).toBe(200);
});
afterAll(async () => t?.stop());

const disable = (headers: Record<string, string>, reason: string) =>
  t.call('POST', '/costsim/breakers/conf/disable', { key: testKeys.admin, body: { reason }, headers });

describe('If-Match (RFC 9110 §13.1.1)', () => {
  test('a weak tag never matches under strong comparison: 412, nothing written', async () => {
    const first = await disable({}, 'v1'); // version 1
    expect(first.headers.get('etag')).toBe('"1"');
    const before = await snapshot(t.db);
    const { problem } = await expectProblem(await disable({ 'If-Match': 'W/"1"' }, 'weak'), 412);
    expect(problem.current_version).toBe(1);
    expect(await snapshot(t.db)).toEqual(before);
  });

  test('a list matches if any tag matches; none matching is 412; * matches any version', async () => {
    const listed = await disable({ 'If-Match': '"7", "1", W/"2"' }, 'v2 via a list');
    expect(listed.status).toBe(200);
    expect(listed.headers.get('etag')).toBe('"2"');
    await expectProblem(await disable({ 'If-Match': '"1", "3"' }, 'stale list'), 412);
    const star = await disable({ 'If-Match': '*' }, 'v3 via star');
    expect(star.headers.get('etag')).toBe('"3"');
    const { problem } = await expectProblem(await disable({ 'If-Match': 'three' }, 'malformed'), 400);
    expect(problem.errors).toEqual([{ path: 'header.If-Match', message: expect.any(String) }]);
  });
});

test('authentication runs before the body is parsed: an unauthenticated malformed body gets 401', async () => {
  for (const key of [undefined, 'wrong-key']) {
    const res = await t.call('POST', '/costsim/breakers/conf/disable', {
      ...(key ? { key } : {}),
      body: '{"reason": broken',
    });
    await expectProblem(res, 401);
  }
  // Authenticated, the same body is a 400.
  await expectProblem(
    await t.call('POST', '/costsim/breakers/conf/disable', {
      key: testKeys.admin,
      body: '{"reason": broken',
    }),
    400,
  );
});

test('two Authorization headers → 400 naming the header (not "the first wins")', async () => {
  const before = await snapshot(t.db);
  const raw = await rawHttp(
    t.url,
    'POST /costsim/breakers/conf/disable HTTP/1.1\r\nHost: x\r\n' +
      `Authorization: Bearer ${testKeys.admin}\r\nAuthorization: Bearer ${testKeys.read}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{"reason":"dup"}\n',
  );
  const res = parseRawResponse(raw);
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(JSON.parse(res.body).errors).toEqual([
    { path: 'header.Authorization', message: expect.any(String) },
  ]);
  expect(await snapshot(t.db)).toEqual(before);
});

test('a body that is not what its Content-Encoding says → 400 problem; an unknown encoding → 415', async () => {
  const gzipLie = await t.call('POST', '/costsim/breakers/conf/drift', {
    key: testKeys.write,
    body: { drift_score: 0.1 },
    headers: { 'Content-Encoding': 'gzip' },
  });
  const { problem } = await expectProblem(gzipLie, 400);
  expect(problem.title).toBe('Bad Content-Encoding');
  await expectProblem(
    await t.call('POST', '/costsim/breakers/conf/drift', {
      key: testKeys.write,
      body: { drift_score: 0.1 },
      headers: { 'Content-Encoding': 'compress' },
    }),
    415,
  );
});

describe('parser-level answers are problem+json with X-Request-ID', () => {
  const expectRawProblem = (raw: string, status: number) => {
    const res = parseRawResponse(raw);
    expect({ status: res.status, type: res.headers['content-type'] }).toEqual({
      status,
      type: 'application/problem+json',
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(res.body)).toMatchObject({
      status,
      title: expect.any(String),
      detail: expect.any(String),
    });
  };

  test('a malformed request line → 400', async () => {
    expectRawProblem(await rawHttp(t.url, 'GET /health/live HTTP/9.9 nonsense\r\n\r\n'), 400);
    expectRawProblem(await rawHttp(t.url, 'BR@KEN / HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
  });

  test('request headers too large → 431', async () => {
    const big = `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`;
    expectRawProblem(await rawHttp(t.url, big), 431);
  });

  test('headers not sent in time (slowloris) → 408, the connection closed', async () => {
    const started = Date.now();
    const raw = await rawHttp(t.url, 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', {
      timeoutMs: 8000,
    });
    expectRawProblem(raw, 408);
    expect(Date.now() - started).toBeLessThan(8000); // closed by the server, not by our timeout
  });
});

test('connections per client address are capped: past the cap a connection gets 503 and is closed', async () => {
  const sockets = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const net = await import('node:net');
      const { port } = new URL(t.url);
      return new Promise<import('node:net').Socket>((resolve) => {
        const s = net.connect(Number(port), '127.0.0.1', () => resolve(s));
      });
    }),
  );
  try {
    await new Promise((r) => setTimeout(r, 100)); // the server has accepted all eight
    const refused = parseRawResponse(await rawHttp(t.url, 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
  } finally {
    for (const s of sockets) s.destroy();
  }
  await new Promise((r) => setTimeout(r, 100));
  expect((await fetch(`${t.url}/health/live`)).status).toBe(200); // below the cap again
});

describe('/metrics', () => {
  const scrape = (headers: Record<string, string> = {}) => fetch(`${t.url}/metrics`, { headers });

  test('an unauthenticated scraper sees no tenant id or breaker name: those series are aggregated', async () => {
    // Once the gate has the seeded breaker: a count of open breakers, unnamed.
    const text = await eventually(async () => {
      const scraped = await (await scrape()).text();
      expect(scraped).toMatch(/^costsim_v2_circuit_breaker_state [1-9]\d*$/m);
      return scraped;
    });
    expect(text).not.toContain('secret-tenant');
    expect(text).not.toMatch(/breaker="conf"/);
    expect(text).not.toMatch(/\binstance="/); // Prometheus adds instance itself
    expect(text).toMatch(
      /^costsim_build_info\{version="[^"]+",commit="unknown",replica="[^"]+",node_version="v\d+/m,
    );
  });

  test('with the metrics token the detail is shown; a wrong token is a 401', async () => {
    const text = await (await scrape({ Authorization: `Bearer ${METRICS_TOKEN}` })).text();
    expect(text).toMatch(/costsim_v2_circuit_breaker_state\{breaker="conf",tenant_id="secret-tenant"\} 1/);
    await expectProblem(await scrape({ Authorization: 'Bearer not-the-token' }), 401);
  });
});

test('the W3C traceparent of a request is logged with it', async () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const res = await t.call('GET', '/costsim/breakers/conf', { key: testKeys.read, headers: { traceparent } });
  expect(res.status).toBe(200);
  const id = res.headers.get('x-request-id');
  const line = logLines.find((l) => l.msg === 'request completed' && l.request_id === id);
  expect(line).toMatchObject({ traceparent, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', status: 200 });
  // A malformed one is not logged as a trace.
  const bad = await t.call('GET', '/costsim/breakers/conf', {
    key: testKeys.read,
    headers: { traceparent: 'x' },
  });
  const badLine = logLines.find((l) => l.request_id === bad.headers.get('x-request-id'));
  expect(badLine).toBeDefined();
  expect(badLine!.traceparent).toBeUndefined();
});
