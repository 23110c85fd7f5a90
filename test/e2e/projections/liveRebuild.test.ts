import { rmSync } from 'node:fs';
import { allProjections } from '../../../src/features';
import { insertBulkHistory } from '../../support/bulkEvents';
import { eventually } from '../../support/eventually';
import { disableV2, probe, spawnCli, v2Runs } from '../../support/killSwitchProbe';
import { startQuietServe } from '../../support/quietServe';
import { replicaEnv } from '../../support/replicaEnv';
import type { ServeProcess } from '../../support/serveProcess';
import { testKeys } from '../../support/serviceHarness';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Rebuilds on a live service (a real `serve` process, the real CLI in another process): 100 000 events in
 * the store, the sandbox on, costsim_v2 disabled until enabled by hand, 16 clients simulating and polling
 * the breaker, writers advancing the very tables being rebuilt. `rebuild cb_state`, `rebuild --all`, a
 * rebuild killed with SIGKILL halfway and the one after it: not one poll reads closed, V2 never runs
 * (counted in the event log), and the tables afterwards equal a rebuild from scratch.
 */
jest.setTimeout(240_000);

const CLIENTS = 16;
let db: TestDatabase;
let serve: ServeProcess | null = null;
const dirs: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await serve?.stop();
  await db.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PROJECTIONS = allProjections()
  .map((p) => p.name)
  .sort();

/** Every projection's rows as one digest per table (operational columns that are not events left out). */
async function tableDigests(): Promise<Record<string, string>> {
  const tables: Record<string, string> = {
    cb_state: `select name, tenant_id, open, disabled_by, disabled_reason, disabled_until, incident_id,
                      consecutive_failures, last_failure_at, opened_at, updated_at, version, state
                 from cb_state order by name, tenant_key`,
    cb_incidents: 'select * from cb_incidents order by id',
    cb_declarations: 'select * from cb_declarations order by name',
    alert_queue: `select id, intent_key, alert_type, circuit_breaker_name, tenant_id, incident_id, stream_name,
                         facts, target, payload, attempts, max_attempts, last_attempt_at, next_attempt_at,
                         last_error, status, created_at, sent_at
                    from alert_queue order by id`,
    alert_firing: 'select * from alert_firing order by incident_id',
    provenance: 'select * from provenance order by id',
  };
  const out: Record<string, string> = {};
  for (const [name, sql] of Object.entries(tables)) {
    const { rows } = await db.pool.query<{ n: number; digest: string | null }>(
      `select count(*)::int as n, md5(string_agg(t::text, '|')) as digest from (${sql}) t`,
    );
    out[name] = `${rows[0]!.n}:${rows[0]!.digest}`;
  }
  return out;
}

async function caughtUp(): Promise<void> {
  await eventually(
    async () => {
      const { rows } = await db.pool.query<{ name: string; lag: number }>(
        `select c.name, (select count(*)::int from es_events e
                          where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                            and e.event_type = any(c.handles)) as lag
           from projection_checkpoints c order by c.name`,
      );
      expect(rows).toEqual(PROJECTIONS.map((name) => ({ name, lag: 0 })));
    },
    120_000,
    200,
  );
}

async function cli(...args: string[]) {
  const run = spawnCli(db.url, ...args);
  const { code } = await run.exited;
  if (code !== 0) throw new Error(`costsim-guard ${args.join(' ')} exited ${code}:\n${run.output()}`);
  return run.output();
}

test('rebuilds of cb_state, of --all and a killed one on a live service: the breaker never reads closed, V2 never runs', async () => {
  const events = await insertBulkHistory(db.pool, { breakers: 60, perBreaker: 1000, provenance: 40_000 });
  expect(events).toBe(100_000);
  // Every projection live, drift_rollup included (off by default: COSTSIM_DRIFT_ROLLUP).
  serve = await startQuietServe({
    ...replicaEnv(db.url, 'rebuild', 0, dirs),
    COSTSIM_V2_SANDBOX: 'true',
    COSTSIM_DRIFT_ROLLUP: 'true',
  });
  const kill = probe(serve.url);
  await caughtUp();

  // V2 runs while the breaker is closed; then it is disabled until enabled by hand.
  expect(await kill.simulateRanV2()).toBe(true);
  await disableV2(serve.url, 'live rebuild test');
  await eventually(async () => expect(await kill.breakerOpen()).toBe(true));
  const runs = await v2Runs(db.pool);
  expect(runs).toBe(1);

  let stop = false;
  const polls = { open: 0, closed: 0, failed: [] as string[] };
  const simulates = { v1Only: 0, ranV2: 0 };
  const pause = () => new Promise((r) => setTimeout(r, 10));
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!stop) {
      try {
        if (await kill.simulateRanV2()) simulates.ranV2++;
        else simulates.v1Only++;
        // The gate's in-memory copy, and the table itself.
        for (const open of await Promise.all([kill.breakerOpen(), kill.breakerListedOpen()])) {
          if (open) polls.open++;
          else polls.closed++;
        }
      } catch (err) {
        polls.failed.push(String(err));
      }
      await pause();
    }
  });
  // Writers advancing the tables being rebuilt: drift reports on the open breaker (cb_state) and provenance.
  const post = (path: string, body: unknown) =>
    fetch(`${serve!.url}${path}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${testKeys.write}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (res) => {
      if (res.status >= 300) polls.failed.push(`${path} -> ${res.status} ${await res.text()}`);
    });
  let written = 0;
  const writers = [
    (async () => {
      while (!stop) {
        await post('/costsim/breakers/costsim_v2/drift', { drift_score: 0.9, sample_count: 10 });
        await pause();
      }
    })(),
    (async () => {
      while (!stop) {
        await post('/costsim/provenance', {
          records: Array.from({ length: 20 }, (_, i) => ({
            run_id: `live-${written}-${i}`,
            variant_slug: 'v1',
            source: 'manual',
            input_hash: 'd'.repeat(64),
          })),
        });
        written += 20;
        await pause();
      }
    })(),
  ];

  const timings: Record<string, number> = {};
  const timed = async (name: string, work: () => Promise<unknown>) => {
    const started = Date.now();
    await work();
    timings[name] = Date.now() - started;
  };
  await timed('rebuild cb_state', () => cli('projections', 'rebuild', 'cb_state'));
  await timed('rebuild --all', () => cli('projections', 'rebuild', '--all'));

  // A rebuild killed with SIGKILL halfway: its copies are left, the live tables keep serving.
  const killed = spawnCli(db.url, 'projections', 'rebuild', 'cb_state', '--batch-size', '200');
  await eventually(
    async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `select global_position::int as n from projection_checkpoints where name = 'cb_state@rebuild'`,
      );
      expect(rows[0]?.n ?? 0).toBeGreaterThan(0);
    },
    60_000,
    5,
  );
  killed.child.kill('SIGKILL');
  expect((await killed.exited).signal).toBe('SIGKILL');
  const { rows: leftover } = await db.pool.query(
    `select 1 from pg_namespace where nspname = 'costsim_rebuild_cb_state'`,
  );
  expect(leftover).toHaveLength(1);
  expect(await kill.breakerOpen()).toBe(true);
  await timed('rebuild after the killed one', () => cli('projections', 'rebuild', 'cb_state'));
  const { rows: schemas } = await db.pool.query(
    `select nspname from pg_namespace where nspname like 'costsim_%'`,
  );
  expect(schemas).toEqual([]);

  stop = true;
  await Promise.all([...clients, ...writers]);
  console.log(
    `[live rebuild] ${JSON.stringify(timings)}; polls ${JSON.stringify({ ...polls, failed: polls.failed.length })}; ` +
      `simulates ${JSON.stringify(simulates)}; ${written} provenance records written meanwhile`,
  );
  expect(polls.failed).toEqual([]);
  expect(polls.closed).toBe(0);
  expect(polls.open).toBeGreaterThan(100);
  expect(simulates.ranV2).toBe(0);
  expect(await v2Runs(db.pool)).toBe(runs);

  // The tables equal a rebuild from scratch (the service stopped, so nothing moves in between).
  await caughtUp();
  await serve.stop();
  serve = null;
  const live = await tableDigests();
  expect(Number(live.provenance!.split(':')[0])).toBe(40_000 + 1 + written);
  await cli('projections', 'rebuild', '--all');
  expect(await tableDigests()).toEqual(live);
});
