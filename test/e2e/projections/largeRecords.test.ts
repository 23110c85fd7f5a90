import { randomBytes } from 'node:crypto';
import { eventually } from '../../support/eventually';
import { disableV2, probe, v2Runs } from '../../support/killSwitchProbe';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * 300 provenance records of ~1 MiB each (the largest request body) written while no projector runs, so a
 * projector that starts finds ~300 MiB of payload waiting — once more than one jsonb value can hold, which
 * froze every projection. Batches are bounded by bytes and the projection's statements by size: all 300
 * are projected, no projection ever fails or parks anything, and the breaker goes on meanwhile.
 */
jest.setTimeout(180_000);

const RECORDS = 300;
const BLOB_CHARS = 1_040_000; // the body stays under the 1 MiB request limit
const WRITERS = 6;

let db: TestDatabase;
const services: TestService[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const s of services) await s.stop();
  await db.drop();
});

test('300 records of 1 MiB, projected after the fact: all of them, nothing failed, nothing parked', async () => {
  const writer = await startTestService({ PROJECTOR_ENABLED: 'false' }, db);
  services.push(writer);
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < RECORDS) {
        const i = next++;
        // Random base64: PostgreSQL cannot compress it, so it is stored at full size.
        const blob = randomBytes((BLOB_CHARS * 3) / 4).toString('base64');
        const res = await writer.call('POST', '/costsim/provenance', {
          key: testKeys.write,
          body: {
            records: [
              {
                run_id: `large-${i}`,
                variant_slug: 'v1',
                source: 'manual',
                input_hash: 'c'.repeat(64),
                payload: { blob },
              },
            ],
          },
        });
        if (res.status !== 201) throw new Error(`record ${i}: ${res.status} ${await res.text()}`);
      }
    }),
  );
  const { rows: stored } = await db.pool.query<{ n: number; bytes: string }>(
    `select count(*)::int as n, sum(pg_column_size(data))::text as bytes from es_events where event_type = 'ProvenanceRecorded'`,
  );
  expect(stored[0]!.n).toBe(RECORDS);
  expect(Number(stored[0]!.bytes)).toBeGreaterThan(300 * 1_000_000);
  expect((await db.pool.query('select 1 from provenance')).rows).toHaveLength(0);

  // A projector starts on all of it; the sandbox is on and V2 runs until the breaker is disabled.
  const t = await startTestService({ COSTSIM_V2_SANDBOX: 'true' }, db);
  services.push(t);
  const kill = probe(t.url);
  expect(await kill.simulateRanV2()).toBe(true);
  const started = Date.now();
  await disableV2(t.url, 'large records test');
  await eventually(async () => expect(await kill.breakerOpen()).toBe(true), 60_000, 10);
  console.log(
    `[large] disable visible ${Date.now() - started} ms after it was acknowledged, with ~300 MiB to project`,
  );
  const runs = await v2Runs(db.pool);
  for (let i = 0; i < 5; i++) expect(await kill.simulateRanV2()).toBe(false);
  expect(await v2Runs(db.pool)).toBe(runs);
  expect(runs).toBe(1);

  await eventually(
    async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from provenance where source = 'manual'`,
      );
      expect(rows[0]!.n).toBe(RECORDS);
    },
    150_000,
    200,
  );
  console.log(`[large] ${RECORDS} records projected ${Date.now() - started} ms after the projector started`);
  const { rows: payload } = await db.pool.query<{ len: number }>(
    `select length(payload->>'blob')::int as len from provenance where run_id = 'large-7'`,
  );
  expect(payload[0]!.len).toBe(BLOB_CHARS);

  // Never stuck, not even for one attempt, and nothing parked.
  const { rows: checkpoints } = await db.pool.query(
    `select name from projection_checkpoints where failure_message is not null or failure_count > 0`,
  );
  expect(checkpoints).toEqual([]);
  expect((await db.pool.query('select 1 from projection_dead_letters')).rows).toEqual([]);
  const metrics = await (await t.call('GET', '/metrics')).text();
  expect(metrics).not.toMatch(/costsim_projector_failures_total\{[^}]*\} [1-9]/);
  await eventually(async () => {
    const ready = await t.call('GET', '/health/ready');
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: { projections: Record<string, { lag_events: number }> } };
    expect(body.checks.projections.provenance?.lag_events).toBe(0);
  });
  expect(await kill.breakerOpen()).toBe(true);
  expect(await kill.simulateRanV2()).toBe(false);
  expect(await v2Runs(db.pool)).toBe(1);
});
