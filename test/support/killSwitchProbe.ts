import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import type pg from 'pg';
import { CLI } from './serveProcess';
import { testKeys } from './serviceHarness';

/**
 * What the projection e2e tests check the kill switch with, from the outside: the breaker over the API,
 * and V2 runs counted from the event log (a sandbox simulate that ran V2 appends a ProvenanceRecorded with
 * variant_slug 'v2' — counted in es_events, so a projection that lags cannot hide a run).
 */
export const SIMULATE_BODY = { plan: [{ skill: 'llm_invoke', params: { prompt: 'Hello world' } }] };

export async function v2Runs(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from es_events
      where event_type = 'ProvenanceRecorded' and data->>'variant_slug' = 'v2' and data->>'source' = 'sandbox'`,
  );
  return rows[0]!.n;
}

export interface Probe {
  /** GET /costsim/breakers/costsim_v2 → open (answered from the replica's in-memory copy, the V2 gate's) */
  breakerOpen(): Promise<boolean>;
  /** GET /costsim/breakers → the global costsim_v2 listed open (a query on the cb_state table itself) */
  breakerListedOpen(): Promise<boolean>;
  /** POST /costsim/v2/simulate → whether V2 ran (a v2_result in the answer) */
  simulateRanV2(): Promise<boolean>;
}

export function probe(baseUrl: string): Probe {
  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path} -> ${res.status}: ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  return {
    breakerOpen: async () => (await call('GET', '/costsim/breakers/costsim_v2', testKeys.read)).open === true,
    breakerListedOpen: async () => {
      const { breakers } = (await call('GET', '/costsim/breakers', testKeys.read)) as {
        breakers: Array<{ name: string; tenant_id: string | null; open: boolean }>;
      };
      return breakers.some((b) => b.name === 'costsim_v2' && b.tenant_id === null && b.open);
    },
    simulateRanV2: async () =>
      'v2_result' in (await call('POST', '/costsim/v2/simulate', testKeys.write, SIMULATE_BODY)),
  };
}

/** Disables costsim_v2 until enabled by hand (ttl_hours 0) through the API. */
export async function disableV2(baseUrl: string, reason: string): Promise<void> {
  const res = await fetch(`${baseUrl}/costsim/breakers/costsim_v2/disable`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${testKeys.admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason, ttl_hours: 0 }),
  });
  if (res.status !== 200) throw new Error(`disable -> ${res.status}: ${await res.text()}`);
}

/** The real CLI (`node bin/costsim-guard.js …`) against `databaseUrl`. */
export function runCli(databaseUrl: string, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/** The real CLI as a child process the test can kill; resolves with its exit code and signal. */
export function spawnCli(databaseUrl: string, ...args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => output };
}
