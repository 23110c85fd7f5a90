import { rmSync } from 'node:fs';
import {
  type BreakerEvent,
  breakerStreamName,
  evolveBreaker,
  initialBreakerState,
  isOpenAt,
} from '../../src/domain/breaker';
import { PostgresEventStore } from '../../src/infra/eventStore/postgresEventStore';
import { cbIncidentsProjection } from '../../src/projections/breaker/cbIncidentsProjection';
import { cbStateProjection } from '../../src/projections/breaker/cbStateProjection';
import { projectionStatuses } from '../../src/projections/runtime/lag';
import { rebuildProjection } from '../../src/projections/runtime/rebuild';
import { eventually } from '../support/eventually';
import { startQuietServe } from '../support/quietServe';
import { replicaEnv } from '../support/replicaEnv';
import type { ServeProcess } from '../support/serveProcess';
import { testKeys } from '../support/serviceHarness';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

/**
 * Faults under load, with two real `serve` processes on one database:
 *  - the projector leader is killed with SIGKILL in the middle of the load (no graceful anything);
 *  - every database connection of the surviving process (pool, LISTEN, advisory-lock holders) is terminated
 *    by the server (pg_terminate_backend), again and again, while its commands are in flight.
 * Every command that was answered 200 must be in the log at the version it reported, the log must have no
 * gaps, a failed command must fail with 503 (retryable), never 500, the survivor must take over the
 * projector and its read tables must equal a rebuild, and its V2 gate must agree with the log.
 */
jest.setTimeout(90_000);

let db: TestDatabase;
const dirs: string[] = [];
const procs: ServeProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const env = (i: number) => replicaEnv(db.url, 'faults', i, dirs);
  // The first process takes the projector lock before the second one exists.
  procs.push(await startQuietServe(env(0)));
  await eventually(async () => expect(await leaderGauge(0)).toBe(1));
  procs.push(await startQuietServe(env(1)));
}, 90_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await db?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function leaderGauge(proc: number): Promise<number> {
  const text = await (await fetch(`${procs[proc]!.url}/metrics`)).text();
  return Number(/^costsim_projector_leader(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
}

interface Answer {
  proc: number;
  status: number | 'unreachable';
  version?: number;
  body?: string;
}

async function drift(proc: number, tenant: string, score: number): Promise<Answer> {
  try {
    const res = await fetch(`${procs[proc]!.url}/costsim/breakers/costsim_v2/drift?tenant_id=${tenant}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${testKeys.write}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ drift_score: score }),
    });
    const body = await res.text();
    const version =
      res.status === 200 ? (JSON.parse(body) as { state: { version: number } }).state.version : undefined;
    return { proc, status: res.status, ...(version !== undefined ? { version } : {}), body };
  } catch {
    return { proc, status: 'unreachable' };
  }
}

test('SIGKILL of the projector leader and terminated connections under load: nothing acknowledged is lost', async () => {
  const tenants = ['t1', 't2', 't3', 't4'];
  const scores = [0.1, 0.3, 0.3, 0.05, 0.5, 0.3, 0.3, 0.3, 0.1];
  const answers: Array<Answer & { tenant: string }> = [];
  let stop = false;
  let sent = 0;
  const workers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const tenant = tenants[(w + i) % tenants.length]!;
      const proc = (w + i) % 2;
      sent++;
      answers.push({ ...(await drift(proc, tenant, scores[(w * 7 + i) % scores.length]!)), tenant });
    }
  });
  await new Promise((r) => setTimeout(r, 700));
  procs[0]!.child.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  // Terminate every connection of the survivor (pool, LISTEN, projector and recovery locks) again and again
  // for half a second, so that some die with a query in flight (an append, a projector batch, a refresh).
  let killed = 0;
  for (const until = Date.now() + 500; Date.now() < until;) {
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where datname = current_database() and application_name like 'costsim-guard%'`,
    );
    killed += rows[0]!.n;
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await Promise.all(workers);

  const byStatus = answers.reduce<Record<string, number>>((acc, a) => {
    const key = `${a.proc}:${a.status}`;
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {});
  console.log(
    `[faults] ${sent} drift reports; answers by process:status ${JSON.stringify(byStatus)}; ` +
      `${killed} connections of the survivor terminated`,
  );
  expect(killed).toBeGreaterThan(0);
  if (procs[1]!.child.exitCode !== null || procs[1]!.child.signalCode !== null) {
    throw new Error(`the survivor died: ${procs[1]!.output().slice(-3000)}`);
  }
  // The survivor never answers 500: a command that could not be written is a retryable 503.
  const survivor = answers.filter((a) => a.proc === 1);
  expect(survivor.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
  expect(survivor.filter((a) => a.status === 200).length).toBeGreaterThan(0);
  // The killed process answered until it died, then was unreachable.
  expect(answers.filter((a) => a.proc === 0 && a.status === 200).length).toBeGreaterThan(0);
  expect(answers.filter((a) => a.proc === 0 && a.status !== 200 && a.status !== 'unreachable')).toEqual([]);

  // The log: per stream, versions contiguous; every acknowledged report is stored at the version it reported.
  const { rows } = await db.pool.query<{
    stream_name: string;
    stream_version: string;
    event_type: string;
    data: object;
  }>(
    `select stream_name, stream_version, event_type, data from es_events order by stream_name, stream_version`,
  );
  for (const tenant of tenants) {
    const stream = breakerStreamName('costsim_v2', tenant);
    const events = rows.filter((r) => r.stream_name === stream);
    expect(events.map((e) => Number(e.stream_version))).toEqual(events.map((_, i) => i + 1));
    const stored = new Map(events.map((e) => [Number(e.stream_version), e.event_type]));
    for (const a of answers.filter((x) => x.tenant === tenant && x.status === 200)) {
      expect(stored.get(a.version!)).toMatch(/^DriftObserved$|^BreakerTripped$/);
    }
    const acknowledged = answers.filter((x) => x.tenant === tenant && x.status === 200).length;
    const observed = events.filter((e) => e.event_type === 'DriftObserved').length;
    expect(observed).toBeGreaterThanOrEqual(acknowledged);
    expect(observed).toBeLessThanOrEqual(answers.filter((x) => x.tenant === tenant).length);
  }

  // The survivor takes over the projector; its read tables catch up and equal a rebuild from events.
  await eventually(async () => expect(await leaderGauge(1)).toBe(1), 20_000);
  await eventually(async () => {
    const lagging = (await projectionStatuses(db.pool)).filter(
      (s) => ['cb_state', 'cb_incidents'].includes(s.name) && (s.lagEvents > 0 || s.failure !== null),
    );
    expect(lagging).toEqual([]);
  }, 20_000);
  // The survivor's V2 gate (its in-memory cache, refreshed after its LISTEN connection was killed too)
  // agrees with the log for every tenant.
  const openByLog = tenants.filter((tenant) => {
    const state = rows
      .filter((r) => r.stream_name === breakerStreamName('costsim_v2', tenant))
      .reduce(
        (s, e) => evolveBreaker(s, { type: e.event_type, data: e.data } as unknown as BreakerEvent),
        initialBreakerState(),
      );
    return isOpenAt(state, new Date(), { autoRecover: true });
  });
  expect(openByLog.length).toBeGreaterThan(0);
  await eventually(async () => {
    for (const tenant of tenants) {
      const res = await fetch(`${procs[1]!.url}/costsim/v2/status`, {
        headers: { Authorization: `Bearer ${testKeys.read}`, 'X-Tenant-ID': tenant },
      });
      const status = (await res.json()) as { circuit_breaker_open: boolean };
      expect([tenant, status.circuit_breaker_open]).toEqual([tenant, openByLog.includes(tenant)]);
    }
  }, 10_000);
  await procs[1]!.stop();
  const snapshot = async () => ({
    state: (await db.pool.query('select * from cb_state order by name, tenant_key')).rows.map(
      ({ changed_tx: _changedBy, ...row }: Record<string, unknown>) => row,
    ),
    incidents: (await db.pool.query('select * from cb_incidents order by id')).rows,
  });
  const live = await snapshot();
  const store = new PostgresEventStore(db.pool);
  await rebuildProjection(db.pool, store, cbStateProjection);
  await rebuildProjection(db.pool, store, cbIncidentsProjection);
  expect(await snapshot()).toEqual(live);

  const openInTable = (live.state as Array<{ tenant_id: string; open: boolean }>)
    .filter((r) => r.open)
    .map((r) => r.tenant_id)
    .sort();
  expect(openInTable).toEqual(openByLog.sort());
});
