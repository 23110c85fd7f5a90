import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { Projector } from '../../../src/projections/runtime/projector';
import { rebuildProjection } from '../../../src/projections/runtime/rebuild';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';
import { settlesWithin } from '../../support/eventually';
import { countingProjection, countingSnapshot, createCountingTables } from '../../support/countingProjection';

const LOCK = 7010;
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
  await createCountingTables(db.pool);
});
const running: Projector[] = [];
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await db.drop();
});

async function until(cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function appliedCount(): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from test_applied');
  return Number(rows[0]!.n);
}

test('killing the leader connection mid-run: the standby takes over, nothing applied twice, rows equal a rebuild', async () => {
  const makeProjector = () =>
    new Projector({
      pool: db.pool,
      store,
      connectionString: db.url,
      projections: [countingProjection],
      lockId: LOCK,
      batchSize: 25,
      pollMs: 10,
      retryMs: 50,
    });
  const first = makeProjector();
  const second = makeProjector();
  running.push(first, second);
  first.start();
  await until(() => first.isLeader);
  second.start();

  // Writers keep appending while the leader is killed.
  const TOTAL = 2000;
  let written = 0;
  const writing = (async () => {
    while (written < TOTAL) {
      await store.append(
        `counted-${written % 7}`,
        Array.from({ length: 10 }, () => ({ type: 'Counted', data: {} })),
      );
      written += 10;
    }
  })();

  await until(async () => (await appliedCount()) > 200);
  expect(first.isLeader).toBe(true);
  expect(second.isLeader).toBe(false);
  const { rows } = await db.pool.query<{ pid: number }>(
    `select pid from pg_locks where locktype = 'advisory' and objid = $1 and granted
        and database = (select oid from pg_database where datname = current_database())`,
    [LOCK],
  );
  expect(rows).toHaveLength(1);
  await db.pool.query('select pg_terminate_backend($1)', [rows[0]!.pid]);

  await until(() => second.isLeader);
  expect(first.isLeader).toBe(false);
  await writing;
  await until(async () => (await appliedCount()) === TOTAL);

  const { rows: twice } = await db.pool.query('select event_id from test_applied where times <> 1');
  expect(twice).toEqual([]);
  const live = await countingSnapshot(db.pool);
  expect(live.reduce((n, r) => n + Number(r.events), 0)).toBe(TOTAL);

  await Promise.all([first.stop(), second.stop()]);
  const progress = await rebuildProjection(db.pool, store, countingProjection, { batchSize: 300 });
  expect(progress.processed).toBe(TOTAL);
  expect(await countingSnapshot(db.pool)).toEqual(live);
}, 90_000);

test('a projector stopped the moment it becomes leader stops promptly (no lost abort)', async () => {
  // Stop at varying delays after leadership, so some land while checkpoints are loading.
  for (let i = 0; i < 20; i++) {
    let stopping: Promise<void> | null = null;
    const projector: Projector = new Projector({
      pool: db.pool,
      store,
      connectionString: db.url,
      projections: [countingProjection],
      lockId: LOCK + 100,
      pollMs: 10,
      retryMs: 10,
      // Next tick after leadership: the projector is then loading its checkpoints.
      observer: {
        onLeadership: (leader) => void (leader && setImmediate(() => (stopping = projector.stop()))),
      },
    });
    projector.start();
    await until(() => stopping !== null, 10_000);
    const outcome = await settlesWithin(stopping!, 5000);
    expect(outcome).toBe('done');
  }
}, 60_000);
