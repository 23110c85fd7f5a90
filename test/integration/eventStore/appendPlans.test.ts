import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { createPool } from '../../../src/infra/postgres/pool';
import { eventually } from '../../support/eventually';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const scans = async () => {
  const { rows } = await db.pool.query<{ seq_scan: string; idx_scan: string | null }>(
    `select s.seq_scan, s.idx_scan from pg_stat_clear_snapshot(), pg_stat_user_tables s
      where s.relname = 'es_events'`,
  );
  return { seq: Number(rows[0]!.seq_scan), idx: Number(rows[0]!.idx_scan ?? 0) };
};

// Regression: on a fresh database, a long-lived connection cached a sequential-scan plan for es_append's
// look-ups and every append scanned the whole table (latency grew with the table: 0.8 → 2.7 ms per append
// over 24 000 events). Statistics are flushed when the backend exits, so the appends run on a one-connection
// pool that is closed before counting.
test('appends on one long-lived connection never scan es_events sequentially', async () => {
  const before = await scans();
  const pool = createPool(db.url, { max: 1, applicationName: 'costsim-test-plans' });
  const store = new PostgresEventStore(pool);
  let version = 0;
  for (let i = 0; i < 60; i++) {
    // The first appends of each kind are planned for their parameters, later ones reuse a generic plan.
    const events = Array.from({ length: 1 + (i % 4) }, (_, n) => ({ type: 'Planned', data: { i, n } }));
    version = (await store.append('plans-1', events, { expected: version })).nextExpectedVersion;
    await store.append(`plans-other-${i % 3}`, [{ type: 'Planned', data: { i } }], { expected: 'any' });
  }
  await pool.end();
  // Wait until the closed backend's counters are visible: 120 appends make at least 120 scans of some kind
  // (each looks its stream's version up at least once).
  const after = await eventually(async () => {
    const now = await scans();
    expect(now.seq + now.idx - before.seq - before.idx).toBeGreaterThanOrEqual(120);
    return now;
  });
  expect(version).toBe(150);
  expect(after.seq - before.seq).toBe(0);
});
