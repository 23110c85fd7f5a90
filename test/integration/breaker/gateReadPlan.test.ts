import { breakerEventTypes, breakerStream, breakerId } from '../../../src/domain/breaker';
import { PostgresEventStore, readNewerStatement } from '../../../src/infra/eventStore/postgresEventStore';
import type { ReadNewerOptions } from '../../../src/infra/eventStore/eventStore';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * The V2 gate's read stays a handful of index entries however many other events lie past its horizon,
 * and whatever the planner's statistics say (migrations/105_es_events_breaker_feed.ts). Statistics taken
 * before a flood end their transaction_id histogram below the gate's horizon; the planner then took
 * es_events_commit_order and walked every provenance record since the horizon, ~1 s per read under a
 * flood in CI, and the gate failed closed for good. Here: statistics from before 100 000 provenance
 * records, the gate's horizon held back to before them, and the statement the gate runs, EXPLAINed.
 */
let db: TestDatabase;
const STREAM = breakerStream(breakerId('costsim_v2', null));
const FLOOD = 100_000;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

async function breakerEvents(from: number, to: number): Promise<void> {
  await db.pool.query(
    `insert into es_events (event_id, stream_name, stream_version, event_type, data)
     select gen_random_uuid(), $1, v, case when v % 2 = 1 then 'BreakerTripped' else 'BreakerEnabled' end, '{}'
       from generate_series($2::int, $3::int) v`,
    [STREAM, from, to],
  );
}

/** One transaction per 5 000 records, as the flood's batches are. */
async function provenanceFlood(records: number): Promise<void> {
  for (let done = 0; done < records; done += 5000) {
    await db.pool.query(
      `insert into es_events (event_id, stream_name, stream_version, event_type, data)
       select gen_random_uuid(), 'provenance-' || $1::int || '-' || g, 1, 'ProvenanceRecorded',
              jsonb_build_object('run_id', 'flood-' || g, 'tenant_id', 'tenant-a', 'variant_slug', 'v1',
                                 'input_hash', md5(g::text), 'v1_cost', g % 100, 'payload', '{}'::jsonb)
         from generate_series(1, 5000) g`,
      [done],
    );
  }
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

async function explain(options: ReadNewerOptions) {
  const statement = readNewerStatement(options);
  const { rows } = await db.pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>({
    text: `explain (analyze, buffers, format json) ${statement.text}`,
    values: statement.values,
  });
  const all = nodes(rows[0]!['QUERY PLAN'][0]!.Plan);
  return {
    indexes: all.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])),
    seqScans: all.filter((n) => n['Node Type'] === 'Seq Scan').length,
    removedByFilter: all.reduce((sum, n) => sum + (n['Rows Removed by Filter'] ?? 0), 0),
    blocks: (all[0]!['Shared Hit Blocks'] ?? 0) + (all[0]!['Shared Read Blocks'] ?? 0),
  };
}

test('the gate reads 3 breaker events past 100 000 provenance records through its own index, with statistics from before them and after', async () => {
  const store = new PostgresEventStore(db.pool);
  await breakerEvents(1, 20);
  await db.pool.query('analyze es_events'); // what the planner knows: breaker events only
  // The gate's horizon before the flood, held there (as a writing transaction anywhere holds it).
  const start = await store.readNewer({
    types: breakerEventTypes,
    known: new Map(),
    horizon: null,
    limit: 1000,
  });
  expect(start.events).toHaveLength(20);
  // A projection checkpoint's transaction id (how the gate starts from cb_state) is a horizon too.
  const { rows: checkpoint } = await db.pool.query<{ xid: string }>(
    'select pg_current_xact_id()::text as xid',
  );
  await provenanceFlood(FLOOD);
  await breakerEvents(21, 23);

  const read: ReadNewerOptions = {
    types: breakerEventTypes,
    known: new Map([[STREAM, 20]]),
    horizon: start.horizon,
    limit: 1000,
  };
  const page = await store.readNewer(read);
  expect(page.events.map((e) => e.streamVersion)).toEqual([21, 22, 23]);
  expect(page.complete).toBe(true);

  const fromCheckpoint = { ...read, horizon: checkpoint[0]!.xid };
  expect((await store.readNewer(fromCheckpoint)).events.map((e) => e.streamVersion)).toEqual([21, 22, 23]);

  const stale = [await explain(read), await explain(fromCheckpoint)];
  await db.pool.query('analyze es_events');
  const fresh = [await explain(read), await explain(fromCheckpoint)];
  for (const plan of [...stale, ...fresh]) {
    expect(plan.indexes.length).toBeGreaterThan(0);
    expect(new Set(plan.indexes)).toEqual(new Set(['es_events_breaker_feed']));
    expect(plan.seqScans).toBe(0);
    // Only the gate's own events are looked at: the 20 it holds are filtered, no provenance record is.
    expect(plan.removedByFilter).toBeLessThanOrEqual(20);
    expect(plan.blocks).toBeLessThan(100); // the flood's rows alone fill thousands of blocks
  }
});

test("the feed index holds exactly the gate's event types (a new breaker event type needs a migration)", async () => {
  const { rows } = await db.pool.query<{ predicate: string; valid: boolean }>(
    `select pg_get_expr(i.indpred, i.indrelid) as predicate, i.indisvalid as valid
       from pg_index i where i.indexrelid = 'es_events_breaker_feed'::regclass`,
  );
  expect(rows[0]!.valid).toBe(true);
  const indexed = [...rows[0]!.predicate.matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]);
  expect([...indexed].sort()).toEqual([...breakerEventTypes].sort());
});

test('a transaction left open elsewhere neither hides its event nor makes each read walk every event since it began', async () => {
  const store = new PostgresEventStore(db.pool);
  const other = breakerStream(breakerId('costsim_v2', 'tenant-long'));
  const held = await db.pool.connect();
  try {
    await held.query('begin');
    await held.query(
      `insert into es_events (event_id, stream_name, stream_version, event_type, data)
       values (gen_random_uuid(), $1, 1, 'BreakerTripped', '{}')`,
      [other],
    );
    let known = new Map([[STREAM, await store.streamVersion(STREAM)]]);
    let horizon: string | null = null;
    const read = async () => {
      const page = await store.readNewer({ types: breakerEventTypes, known, horizon, limit: 1000 });
      for (const e of page.events) known = new Map([...known, [e.streamName, e.streamVersion]]);
      horizon = page.horizon;
      return page.events;
    };
    await read();
    // 200 events commit while that transaction stays open, read as they come.
    const base = known.get(STREAM) ?? 0;
    for (let v = base + 1; v <= base + 200; v += 20) {
      await breakerEvents(v, v + 19);
      expect((await read()).map((e) => e.streamVersion)).toEqual(Array.from({ length: 20 }, (_, i) => v + i));
    }
    await breakerEvents(base + 201, base + 202);
    const plan = await explain({ types: breakerEventTypes, known, horizon, limit: 1000 });
    // Two ranges: the transactions begun since the last read, and the one still open. Not the 200 before.
    expect(plan.removedByFilter).toBe(0);
    expect((await read()).map((e) => e.streamVersion)).toEqual([base + 201, base + 202]);

    await held.query('commit');
    const late = await read();
    expect(late.map((e) => [e.streamName, e.streamVersion])).toEqual([[other, 1]]); // not missed
  } finally {
    await held.query('rollback').catch(() => {});
    held.release();
  }
});
