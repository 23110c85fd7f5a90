import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AlertmanagerClient,
  type AlertmanagerAlert,
} from '../../../src/infra/alertmanager/alertmanagerClient';
import { type ListedAlert, type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { eventually } from '../../support/eventually';
import { describeWithAlertmanager } from '../../support/alertmanagerAvailability';

// Every test posts under its own alertname, so what one test leaves in Alertmanager never matches another.
function alert(overrides: Partial<AlertmanagerAlert> = {}): AlertmanagerAlert {
  return {
    labels: { alertname: `CostSimGuardTest-${randomUUID()}`, severity: 'page' },
    annotations: { summary: 'breaker opened', runbook: 'https://example.invalid/runbook' },
    startsAt: new Date().toISOString(),
    generatorURL: 'http://costsim-guard.invalid/breakers/b1',
    ...overrides,
  };
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

async function listed(am: RunningAlertmanager, labels: Record<string, string>): Promise<ListedAlert[]> {
  return (await am.alerts()).filter((a) => sameLabels(a.labels, labels));
}

describeWithAlertmanager('AlertmanagerClient against a real Alertmanager', () => {
  let am: RunningAlertmanager;
  let client: AlertmanagerClient;

  beforeAll(async () => {
    am = await startAlertmanager();
    client = new AlertmanagerClient({ timeoutMs: 2_000 });
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await am?.stop();
  });

  it('posts an alert that Alertmanager then lists as active, labels and annotations intact', async () => {
    const sent = alert();

    await expect(client.post(`${am.url}/`, [sent])).resolves.toEqual({ ok: true });

    const [got, ...more] = await eventually(async () => {
      const found = await listed(am, sent.labels);
      expect(found.map((a) => a.status.state)).toEqual(['active']);
      return found;
    }, 5_000);
    expect(more).toEqual([]);
    expect(got?.labels).toEqual(sent.labels);
    expect(got?.annotations).toEqual(sent.annotations);
    expect(Date.parse(got?.startsAt ?? '')).toBe(Date.parse(sent.startsAt));
  });

  it('resolves an alert posted again with endsAt = now: 0.25 stops listing it at all', async () => {
    const firing = alert();
    const bystander = alert();
    await expect(client.post(am.url, [firing, bystander])).resolves.toEqual({ ok: true });
    const [active] = await eventually(async () => {
      const found = await listed(am, firing.labels);
      expect(found).toHaveLength(1);
      return found;
    }, 5_000);
    // Without endsAt, Alertmanager sets one itself (now + resolve_timeout): it is in the future.
    expect(Date.parse(active?.endsAt ?? '')).toBeGreaterThan(Date.now());

    const now = new Date().toISOString();
    await expect(client.post(am.url, [{ ...firing, endsAt: now }])).resolves.toEqual({ ok: true });

    // GET /api/v2/alerts skips every alert whose endsAt has passed, whatever the active/silenced/inhibited/
    // unprocessed filters say; the untouched bystander shows the list itself is still being served.
    expect(await listed(am, firing.labels)).toEqual([]);
    expect(await listed(am, bystander.labels)).toHaveLength(1);
  });

  // 0.25 words these two differently: a bare JSON string, and a {code, message} object.
  it.each([
    ['labels {}', { labels: {} }, /^HTTP 400: "at least one label pair required"$/],
    [
      'a startsAt that is not a date',
      { startsAt: 'not a date' },
      /^HTTP 400: \{"code":400,"message":"parsing alerts body .*parsing time \\"not a date\\"/,
    ],
  ])('reports a payload Alertmanager rejects (%s) as a 400 not worth retrying', async (_, bad, text) => {
    const result = await client.post(am.url, [alert(bad)]);

    expect(result).toEqual({ ok: false, retryable: false, error: expect.stringMatching(text) });
  });

  it('reports a killed Alertmanager as a retryable connection error, and delivers again once it is back', async () => {
    // The shared client holds a kept-alive connection to the process about to die.
    await expect(client.post(am.url, [alert()])).resolves.toEqual({ ok: true });
    await am.kill();

    const down = await client.post(am.url, [alert()]);
    expect(down).toEqual({ ok: false, retryable: true, error: `connect ECONNREFUSED 127.0.0.1:${am.port}` });

    await am.start();
    const back = alert();
    await expect(client.post(am.url, [back])).resolves.toEqual({ ok: true });
    expect(await listed(am, back.labels)).toHaveLength(1);
  }, 30_000);

  it('delivers straight after a graceful restart, over a fresh connection in place of the closed one', async () => {
    await expect(client.post(am.url, [alert()])).resolves.toEqual({ ok: true });
    await am.restart();

    const after = alert();
    await expect(client.post(am.url, [after])).resolves.toEqual({ ok: true });
    expect(await listed(am, after.labels)).toHaveLength(1);
  }, 30_000);
});

describe('AlertmanagerClient against faults the real one cannot produce on demand', () => {
  let server: Server;
  let base: string;
  let connections = 0;
  const client = new AlertmanagerClient({ timeoutMs: 300 });

  // The first path segment picks the fault: http://127.0.0.1:<port>/<fault>/api/v2/alerts.
  const faults: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    silent: () => {},
    trickle: (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.write('partial body, the rest never comes');
    },
    long503: (_req, res) => res.writeHead(503).end(`${'a'.repeat(199)}b${'c'.repeat(300)}`),
    // Larger than undici's buffer (64 KiB): unread, it would hold the connection.
    ok: (_req, res) => res.writeHead(200).end('x'.repeat(256 * 1024)),
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const [, fault = ''] = req.url?.split('/') ?? [];
      // Read the request body first, as a real server does, so the connection can be kept alive.
      req.resume();
      req.on('end', () =>
        /^\d{3}$/.test(fault)
          ? res.writeHead(Number(fault)).end(`status ${fault}`)
          : faults[fault]?.(req, res),
      );
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(['silent', 'trickle'])('gives up on a %s server after timeoutMs', async (fault) => {
    const started = Date.now();
    const result = await client.post(`${base}/${fault}`, [alert()]);
    const elapsed = Date.now() - started;

    expect(result).toEqual({
      ok: false,
      retryable: true,
      error: `Timeout: no answer from ${base}/${fault} within 300 ms`,
    });
    // It waited for the timeout, and gave up long before jest would have (the fake server never finishes).
    // Not a performance bound: a loaded machine may answer late, so the upper limit is generous.
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(4_000);
  });

  it('keeps the first 200 characters of an error body', async () => {
    const result = await client.post(`${base}/long503/`, [alert()]);

    expect(result).toEqual({ ok: false, retryable: true, error: `HTTP 503: ${'a'.repeat(199)}b` });
  });

  it.each([
    [408, true],
    [429, true],
    [404, false],
    [413, false],
    [500, true],
  ])('treats HTTP %i as retryable: %s', async (status, retryable) => {
    await expect(client.post(`${base}/${status}`, [alert()])).resolves.toEqual({
      ok: false,
      retryable,
      error: `HTTP ${status}: status ${status}`,
    });
  });

  it('drains every response so one kept-alive connection serves consecutive posts', async () => {
    await client.post(`${base}/ok`, [alert()]);
    const before = connections;

    for (const path of ['ok', '503', 'long503', '429', 'ok']) {
      expect(await client.post(`${base}/${path}`, [alert()])).toMatchObject({ ok: path === 'ok' });
    }

    expect(connections).toBe(before);
  });
});
