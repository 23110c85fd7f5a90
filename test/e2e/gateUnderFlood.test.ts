import { projectionStatuses } from '../../src/projections/runtime/lag';
import {
  gateCycles,
  provenanceFlood,
  quantile,
  simulateTraffic,
  statusNotOpenAfterGrace,
  v2RunsWhileDisabled,
  connectionClosed,
} from '../support/gateUnderLoad';
import { type ServeReplicas, startServeReplicas } from '../support/serveReplicas';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

/**
 * The gate is never behind bulk work (issue #8 point 3, docs/gate.md): while one tenant writes at least
 * 100 000 provenance records as fast as it can (batches of 5 000 over HTTP from 4 clients, round-robin
 * over three real `serve` processes), an operator disables and enables costsim_v2 20 times. Each change
 * reaches the V2 gate of all three replicas; every status request sent 1 s or more after an acknowledged
 * disable answers "open" on every replica, and V2 stops: no simulate sent 1 s or more after it ran V2 —
 * checked on the answers and by counting V2 rows in provenance. Propagation p50/p99 (acknowledgement to
 * the first status answer showing it) is printed. Nothing the flood wrote is lost.
 */
jest.setTimeout(300_000);

const CYCLES = 20;
const MIN_RECORDS = 100_000;
const CAP = 1_500_000;

let db: TestDatabase;
let replicas: ServeReplicas | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  replicas = await startServeReplicas(db.url, 'flood', 3, { COSTSIM_V2_SANDBOX: 'true' });
}, 120_000);

afterAll(async () => {
  try {
    await replicas?.stop();
    const logged = replicas?.warnings() ?? [];
    if (logged.length > 0) console.warn(logged.slice(0, 30).join('\n'));
  } finally {
    await db?.drop();
  }
});

test(`${CYCLES} disables and enables reach three replicas' gates within 1 s under a provenance flood, and V2 stops`, async () => {
  const urls = replicas!.urls;
  // At least MIN_RECORDS, and on until the last cycle is over (capped, in case the machine is very fast).
  const flood = provenanceFlood(urls, { records: MIN_RECORDS, upTo: CAP, batch: 5000, clients: 4 });
  const sims = simulateTraffic(urls);
  // Three disables are held 1.2 s, so simulates land in the "must be off" window after ack + 1 s.
  // Every change must reach every replica (liveness) within 30 s; the 1 s contract is asserted below as a
  // property of the answers (a gate that cannot read in time fails closed: V2 off). On a 2-core machine
  // under a full parallel suite, an enable has taken a replica's starved gate more than 10 s to show.
  const cycles = await gateCycles(urls, {
    cycles: CYCLES,
    holdMs: (c) => (c % 7 === 6 ? 1200 : 0),
    giveUpMs: 30_000,
  });
  const floodStillWriting = flood.written() < CAP;
  flood.stop();
  await flood.done;
  await sims.stop();

  const samples = cycles.flatMap((c) => [...c.disableMs, ...c.enableMs]);
  const disables = cycles.flatMap((c) => c.disableMs);
  const seen = samples.filter((s): s is number => s !== null);
  const p50 = quantile(seen, 0.5);
  const p99 = quantile(seen, 0.99);
  const { checked, ranV2 } = v2RunsWhileDisabled(cycles, sims.sent);
  console.log(
    `[gate under flood] ${flood.written()} records in ${Math.round(flood.elapsedMs())} ms; ` +
      `gate staleness over ${seen.length} observations (3 replicas x ${CYCLES} disables + enables): ` +
      `p50 ${p50} ms, p99 ${p99} ms (target 1000), max ${Math.max(...seen)} ms; disables p99 ${quantile(
        disables.filter((d): d is number => d !== null),
        0.99,
      )} ms; ${sims.sent.length} simulates, ${checked.length} sent while V2 had to be off`,
  );

  expect(flood.failures).toEqual([]);
  expect(flood.written()).toBeGreaterThanOrEqual(MIN_RECORDS);
  expect(floodStillWriting).toBe(true); // every cycle ran while the flood was writing
  expect(cycles.flatMap((c) => c.errors)).toEqual([]);
  expect(cycles.flatMap((c) => c.notSeen)).toEqual([]); // every change reached every replica
  expect(samples.filter((s) => s === null)).toHaveLength(0);
  // Within 1 s, as a property of every answer rather than a timing: each status request sent 1 s or more
  // after the acknowledgement, to any replica, answered "open" (p50/p99 above include each poll's own
  // round trip to a busy replica; bench/breaker.ts reports them against the 1 s target).
  const late = cycles.flatMap((c) => c.statusWhileDisabled.filter((a) => a.sentAt > c.disabledAt + 1000));
  expect(late.length).toBeGreaterThan(0);
  expect(statusNotOpenAfterGrace(cycles)).toEqual([]);

  // V2 stops: on the answers, and in provenance (the V2 rows written by the sandbox).
  expect(checked.length).toBeGreaterThan(0);
  expect(ranV2).toEqual([]);
  // Every simulate was answered 200, except (at most 3) whose keep-alive connection the replica closed as
  // idle just as the client reused it, before the request was read (the flood resends those); each
  // of them is still checked in provenance below.
  const unanswered = sims.sent.filter((s) => s.status !== 200);
  expect(unanswered.filter((s) => !connectionClosed(s.error))).toEqual([]);
  expect(unanswered.length).toBeLessThanOrEqual(3);
  // Counted in the provenance log itself (the read model may still be catching up with the flood).
  const v2Recorded = async (runIds: readonly string[]) => {
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from es_events
        where event_type = 'ProvenanceRecorded' and data->>'variant_slug' = 'v2' and data->>'run_id' = any($1)`,
      [runIds],
    );
    return rows[0]!.n;
  };
  const ran = sims.sent.filter((s) => s.v2);
  expect(await v2Recorded(ran.map((s) => s.runId))).toBe(ran.length); // so the count below means something
  expect(await v2Recorded(checked.map((s) => s.runId))).toBe(0);

  // Nothing the flood wrote is lost: every acknowledged record is in the log, and no projection failed.
  const { rows: logged } = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from es_events
      where event_type = 'ProvenanceRecorded' and data->>'tenant_id' = 'tenant-a' and data->>'run_id' like 'flood-%'`,
  );
  expect(logged[0]!.n).toBe(flood.written());
  expect((await projectionStatuses(db.pool)).filter((s) => s.failure !== null)).toEqual([]);
});
