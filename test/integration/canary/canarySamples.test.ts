import { recentSandboxInputs } from '../../../src/commands/canary/canarySamples';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * The canary reads recent sandbox inputs in pages of 1000 by a (created_at, id) cursor. PostgreSQL keeps
 * microseconds; a cursor cut to JavaScript's milliseconds skipped the rows of a page's last millisecond
 * that came after its last row. Every row is read once, newest first, whatever its microseconds.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

test('2 500 sandbox rows, 4 per millisecond at distinct microseconds: each is read once, newest first', async () => {
  // budget_cents = i names the row; 4 rows per millisecond so that every page boundary falls inside one
  await db.pool.query(
    `insert into provenance (id, variant_slug, source, input_hash, v1_cost, v2_cost, cost_delta, drift_score,
                             verdict, payload, created_at)
     select gen_random_uuid(), 'v2', 'sandbox', md5(i::text), 1, 1, 0, 0, 'match',
            jsonb_build_object('input', jsonb_build_object('plan', '[]'::jsonb, 'budget_cents', i)),
            timestamptz '2026-12-01 00:00:00+00' - (i / 4) * interval '1 millisecond'
              - (i % 4) * interval '1 microsecond'
       from generate_series(0, 2499) as i`,
  );
  const { inputs, unreadable } = await recentSandboxInputs(db.pool, 10_000);
  expect(unreadable).toBe(0);
  expect(inputs.map((p) => p.input.budget_cents)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
});

test('the limit counts rows read, an unreadable stored input is left out and counted', async () => {
  await db.pool.query(`delete from provenance`);
  await db.pool.query(
    `insert into provenance (id, variant_slug, source, input_hash, v1_cost, v2_cost, cost_delta, drift_score,
                             verdict, payload, created_at)
     select gen_random_uuid(), 'v2', 'sandbox', md5(i::text), 1, 1, 0, 0, 'match',
            case when i % 500 = 7 then jsonb_build_object('input', jsonb_build_object('plan', 'not a plan'))
                 when i % 500 = 8 then '{}'::jsonb
                 else jsonb_build_object('input', jsonb_build_object('plan', '[]'::jsonb, 'budget_cents', i)) end,
            timestamptz '2026-12-01 00:00:00+00' - i * interval '1 microsecond'
       from generate_series(0, 2999) as i`,
  );
  const { inputs, unreadable } = await recentSandboxInputs(db.pool, 2001);
  expect(unreadable).toBe(8); // i % 500 ∈ {7, 8} for i < 2001
  expect(inputs).toHaveLength(2001 - 8);
  expect(inputs[inputs.length - 1]!.input.budget_cents).toBe(2000);
});
