import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startServe } from '../support/serveProcess';

/**
 * `npm start` with no DATABASE_URL: the real CLI starts an embedded PostgreSQL under DATA_DIR (as root it
 * runs it as the postgres user), answers readiness, and shuts down cleanly on SIGTERM.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'costsim-e2e-'));
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
let generatedKey = '';

/**
 * PostgreSQL servers (postmasters) on this data dir. A backend that was just forked still shows the
 * postmaster's command line until it renames itself, so only processes whose parent is not one of them count.
 */
const embeddedServers = () => {
  const matching = execFileSync('ps', ['-eo', 'pid=,ppid=,args='])
    .toString()
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[3]!.includes(`-D ${join(dataDir, 'pg')}`));
  const pids = new Set(matching.map((m) => m[1]));
  return matching.filter((m) => !pids.has(m[2])).map((m) => m[3]!);
};

test('serve on the embedded database: ready, live, metrics, request ids; SIGTERM stops it and its database', async () => {
  const env = { DATA_DIR: dataDir, DATABASE_URL: '', COSTSIM_API_KEYS: '', COSTSIM_API_KEYS_FILE: '' };
  const serve = await startServe(env, 90_000);
  try {
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/); // no keys configured: loopback only
    expect(embeddedServers()).toHaveLength(1);

    const ready = await fetch(`${serve.url}/health/ready`, { headers: { 'X-Request-ID': 'req-123' } });
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-request-id')).toBe('req-123');
    expect(ready.headers.get('x-correlation-id')).toBe('req-123');
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: 'ok', migrations: 'ok' },
    });

    expect((await fetch(`${serve.url}/health/live`)).status).toBe(200);
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    expect(metrics).toContain('process_cpu_seconds_total');
    expect(metrics).toContain('costsim_eventstore_append_duration_seconds');

    // No keys configured: an admin key was generated, printed once, and it works.
    const key = /generated an admin key[^\n]*\n\s+(csg_\S+)/.exec(serve.output())?.[1];
    expect(key).toBeDefined();
    expect((await fetch(`${serve.url}/costsim/breakers`)).status).toBe(401);
    const disabled = await fetch(`${serve.url}/costsim/breakers/costsim_v2/disable`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'before restart' }),
    });
    expect(disabled.status).toBe(200);
    generatedKey = key!;

    const missing = await fetch(`${serve.url}/no/such/route`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  } finally {
    const code = await serve.stop();
    expect({ code, output: code === 0 ? '' : serve.output() }).toEqual({ code: 0, output: '' });
  }
  expect(serve.output()).toContain('"msg":"stopped"');
  expect(embeddedServers()).toHaveLength(0);

  // A restart keeps the data and the key, and does not print the key again.
  const again = await startServe(env, 90_000);
  try {
    expect(again.output()).not.toContain('generated an admin key');
    const state = await fetch(`${again.url}/costsim/breakers/costsim_v2?min_version=1`, {
      headers: { Authorization: `Bearer ${generatedKey}` },
    });
    expect(state.status).toBe(200);
    expect(await state.json()).toMatchObject({ open: true, disabled_reason: 'before restart', version: 1 });
  } finally {
    expect(await again.stop()).toBe(0);
  }
}, 180_000);

test('a bad environment stops start-up with one message per bad variable', () => {
  const result = spawnSync(process.execPath, [CLI, 'serve'], {
    env: { ...process.env, PORT: 'eighty', COSTSIM_FAILURE_THRESHOLD: '0', COSTSIM_V2_SANDBOX: 'maybe' },
    encoding: 'utf8',
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain('PORT: must be an integer');
  expect(result.stderr).toContain('COSTSIM_FAILURE_THRESHOLD');
  expect(result.stderr).toContain('COSTSIM_V2_SANDBOX: must be true or false');
});
