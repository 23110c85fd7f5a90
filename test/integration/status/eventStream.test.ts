import { breakerEventTypes } from '../../../src/domain/breaker';
import { START } from '../../../src/infra/eventStore/eventStore';
import { eventually, settlesWithin } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';
import { type SseClient, openSse } from '../../support/sseClient';

// Commit-ordered readers wait for the oldest transaction in the cluster: give eventually its full 15 s.
jest.setTimeout(30_000);

let svc: TestService;
const open: SseClient[] = [];

beforeAll(async () => {
  svc = await startTestService({ STATUS_STREAM_HEARTBEAT_MS: '200', COSTSIM_BREAKERS: 'checkout' });
});
afterAll(async () => {
  for (const c of open) c.close();
  await svc?.stop();
});

const STREAM = '/costsim/events/stream';
async function stream(key: string, headers: Record<string, string> = {}) {
  const client = await openSse(`${svc.url}${STREAM}`, { Authorization: `Bearer ${key}`, ...headers });
  open.push(client);
  return client;
}
const changes = (c: SseClient) =>
  c.events.filter((e) => e.id !== null).map((e) => JSON.parse(e.data) as Record<string, unknown>);
const drift = (name: string, score: number, tenant?: string) =>
  svc.call('POST', `/costsim/breakers/${name}/drift${tenant ? `?tenant_id=${tenant}` : ''}`, {
    key: testKeys.admin,
    body: { drift_score: score },
  });

describe('GET /costsim/events/stream', () => {
  test('without a key: 401 problem+json; a key without read scope: 403 problem+json', async () => {
    const none = await fetch(`${svc.url}${STREAM}`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toMatchObject({ status: 401, title: 'Unauthorized' });

    const writer = await stream(testKeys.write);
    expect(writer.status).toBe(403);
    expect(writer.contentType).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(writer.body)).toMatchObject({ status: 403, detail: expect.stringContaining('read') });
  });

  test('a Last-Event-ID that is no event id: 400 naming the header', async () => {
    for (const bad of ['abc', '-1', '99999999']) {
      const c = await stream(testKeys.read, { 'Last-Event-ID': bad });
      expect(c.status).toBe(400);
      expect(JSON.parse(c.body).errors[0].path).toBe('header.Last-Event-ID');
    }
  });

  test('an event stream: ready first, then heartbeats while idle', async () => {
    const c = await stream(testKeys.read);
    expect(c.status).toBe(200);
    expect(c.contentType).toMatch(/^text\/event-stream/);
    await eventually(() => expect(c.events[0]?.event).toBe('ready'));
    await eventually(() => expect(c.comments).toBeGreaterThanOrEqual(2));
    c.close();
  });

  test('a reconnect with Last-Event-ID receives exactly the events it missed, each once, in order', async () => {
    const first = await stream(testKeys.read);
    await eventually(() => expect(first.events[0]?.event).toBe('ready'));
    expect((await drift('costsim_v2', 0.01)).status).toBe(200);
    await eventually(() => expect(changes(first)).toHaveLength(1));
    first.close();
    const resumeFrom = first.lastId!;

    // Missed while disconnected: a trip, drift on another breaker, an enable.
    for (const score of [0.9, 0.9, 0.9]) expect((await drift('costsim_v2', score)).status).toBe(200);
    expect((await drift('checkout', 0.5)).status).toBe(200);
    const enabled = await svc.call('POST', '/costsim/breakers/costsim_v2/enable', {
      key: testKeys.admin,
      body: { reason: 'test' },
    });
    expect(enabled.status).toBe(200);

    // What the store holds after the resume point, in commit order.
    const after = await svc.service.context.store.checkpointOf(Number(resumeFrom));
    // (Read until all six are below the cluster's horizon: another test file's open transaction holds
    // every commit-ordered reader back, the stream's included.)
    const stored = await eventually(async () => {
      const { events } = await svc.service.context.store.readAll({
        after: after!,
        limit: 100,
        types: breakerEventTypes,
      });
      expect(events).toHaveLength(6);
      return events;
    });
    expect(stored.map((e) => e.type)).toEqual([
      'DriftObserved',
      'DriftObserved',
      'DriftObserved',
      'BreakerTripped',
      'DriftObserved',
      'BreakerEnabled',
    ]);

    const resumed = await stream(testKeys.read, { 'Last-Event-ID': resumeFrom });
    await eventually(() => expect(changes(resumed)).toHaveLength(stored.length));
    expect(changes(resumed).map((c) => c.position)).toEqual(stored.map((e) => e.globalPosition));
    expect(resumed.events.filter((e) => e.id !== null).map((e) => e.id)).toEqual(
      stored.map((e) => String(e.globalPosition)),
    );
    expect(changes(resumed)[3]).toMatchObject({
      type: 'BreakerTripped',
      breaker: 'costsim_v2',
      tenant_id: null,
      data: { trigger: 'drift', threshold: 0.2, failure_threshold: 3, failures_after: 0 },
    });

    // Then live: the next change arrives once, after the replayed ones.
    expect((await drift('checkout', 0.1)).status).toBe(200);
    await eventually(() => expect(changes(resumed)).toHaveLength(stored.length + 1));
    const positions = changes(resumed).map((c) => c.position as number);
    expect(new Set(positions).size).toBe(positions.length);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    resumed.close();
  });

  test('Last-Event-ID 0 replays the whole history', async () => {
    const all = await svc.service.context.store.readAll({
      after: START,
      limit: 1000,
      types: breakerEventTypes,
    });
    const c = await stream(testKeys.read, { 'Last-Event-ID': '0' });
    await eventually(() =>
      expect(changes(c).filter((e) => String(e.stream).startsWith('breaker-'))).toHaveLength(
        all.events.length,
      ),
    );
    c.close();
  });

  test("a tenant key sees its own and the global breakers' events, not another tenant's", async () => {
    const a = await stream(testKeys.tenantA);
    const global = await stream(testKeys.read);
    await eventually(() => expect([a.events[0]?.event, global.events[0]?.event]).toEqual(['ready', 'ready']));
    expect((await drift('costsim_v2', 0.01, 'tenant-b')).status).toBe(200);
    expect((await drift('costsim_v2', 0.01, 'tenant-a')).status).toBe(200);
    expect((await drift('costsim_v2', 0.01)).status).toBe(200);
    await eventually(() => expect(changes(global)).toHaveLength(3));
    await eventually(() => expect(changes(a)).toHaveLength(2));
    expect(changes(a).map((c) => c.tenant_id)).toEqual(['tenant-a', null]);
    a.close();
    global.close();
  });

  test('stopping the service ends open streams (shutdown does not wait for them)', async () => {
    const own = await startTestService({}, svc.db);
    const c = await openSse(`${own.url}${STREAM}`, { Authorization: `Bearer ${testKeys.read}` });
    await eventually(() => expect(c.events[0]?.event).toBe('ready'));
    expect(await settlesWithin(own.service.stop(), 10_000)).toBe('done');
    expect(await settlesWithin(c.ended, 5_000)).toBe('done');
  });
});
