import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { runBaselineBackfill } from '../../../src/commands/provenance/baselineBackfill';
import { ProvenanceWriter } from '../../../src/commands/provenance/provenanceWriter';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { LockIds } from '../../../src/infra/postgres/lockIds';
import { provenanceProjection } from '../../../src/projections/provenance/provenanceProjection';
import { Projector } from '../../../src/projections/runtime/projector';
import { eventually } from '../../support/eventually';
import { CLI } from '../../support/serveProcess';
import { startTestService, testKeys } from '../../support/serviceHarness';
import { type TestDatabase, createTestDatabase } from '../../support/testDatabase';

/**
 * `costsim-guard provenance backfill` (the original's backfill_v1_baseline, lock 7004), through the real
 * CLI against a real database: what it inserts, skips and refuses; a 100 000-line file streamed; two
 * concurrent backfills.
 */
// Tests run the CLI as child processes (tsx start-up each): generous on a shared machine.
jest.setTimeout(120_000);

let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), 'costsim-backfill-'));
beforeAll(async () => {
  db = await createTestDatabase();
}, 60_000);
afterAll(async () => db.drop(), 60_000);

function cli(args: string[]): {
  child: ChildProcess;
  done: Promise<{ status: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [CLI, 'provenance', 'backfill', ...args], {
    env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
  return { child, done };
}
const counts = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
const rowCount = async (where = 'true') =>
  (await db.pool.query<{ n: number }>(`select count(*)::int as n from provenance where ${where}`)).rows[0]!.n;
const eventCount = async () =>
  (await db.pool.query<{ n: number }>('select count(*)::int as n from es_events')).rows[0]!.n;

const HTTP_PLAN =
  '{"plan":[{"skill":"http_call","params":{"timeout":30.0,"url":"https://api.example.com"}}],"budget_cents":100}';

test('JSONL of plain inputs and original provenance: V1 baselines inserted, duplicates and bad lines counted; a re-run inserts nothing', async () => {
  const originalLog = {
    id: 'orig-1',
    timestamp: '2025-01-02T03:04:05+00:00',
    input_hash: 'd'.repeat(64),
    input_json: gzipSync(
      Buffer.from(
        '{"plan": [{"skill": "llm_invoke", "params": {"prompt": "Hello world"}}], "budget_cents": 3}',
      ),
    ).toString('base64'),
    output_json: '{"estimated_cost_cents": 4}',
    compressed: true,
    tenant_id: 'tenant-a',
    run_id: 'run-orig',
  };
  const file = join(dir, 'mixed.jsonl');
  writeFileSync(
    file,
    [
      HTTP_PLAN,
      HTTP_PLAN, // a duplicate in the same file
      '{"plan":[{"skill":"teleport"}],"budget_cents":5}',
      JSON.stringify(originalLog),
      'not json',
      '{"plan":[{"skill":"kv_get","iterations":0}]}', // fails the input schema
      '',
    ].join('\n'),
  );
  const first = await cli([file]).done;
  expect(first.status).toBe(1); // some items were errors
  expect(counts(first.stdout)).toEqual({ inserted: 3, skipped: 1, errors: 2 });
  expect(first.stderr).toContain(`${file}:5: not valid JSON`);
  expect(first.stderr).toContain(`${file}:6: invalid input at input.plan.0.iterations`);

  const { rows } = await db.pool.query(
    `select variant_slug, source, input_hash, v1_cost, v2_cost, tenant_id, run_id, created_at, payload
       from provenance order by v1_cost`,
  );
  expect(rows.map((r) => [r.variant_slug, r.source, r.v1_cost, r.v2_cost])).toEqual([
    ['v1', 'backfill', 0, null],
    ['v1', 'backfill', 5, null],
    ['v1', 'backfill', 10, null],
  ]);
  // the input hash as CPython computed it (30.0 stays a float)
  expect(rows[0].input_hash).toBe('fe85b8fa9fe89ef79b0c234b1f11cc0ed7cdef8f3f425718420221d7886a6b77');
  // the original record keeps its time, tenant and run; V1's own answer is stored, never the original's (V2) output
  expect(rows[1]).toMatchObject({ tenant_id: 'tenant-a', run_id: 'run-orig' });
  expect(rows[1].created_at.toISOString()).toBe('2025-01-02T03:04:05.000Z');
  expect(rows[1].payload.v1_output).toMatchObject({ status: 'budget_insufficient', estimated_cost_cents: 5 });
  expect(rows[1].payload).not.toHaveProperty('v2_output');
  expect(rows[1].payload.origin).toEqual({
    format: 'provenance_log',
    id: 'orig-1',
    input_hash: 'd'.repeat(64),
  });

  const events = await eventCount();
  const again = await cli([file]).done;
  expect(counts(again.stdout)).toEqual({ inserted: 0, skipped: 4, errors: 2 });
  expect(await eventCount()).toBe(events);
});

test('--dry-run counts and writes nothing', async () => {
  const file = join(dir, 'dry.json');
  writeFileSync(
    file,
    `[${['{"plan":[{"skill":"email_send"}]}', '{"plan":[{"skill":"email_send"}]}', HTTP_PLAN].join(',\n')}]`,
  );
  const [rows, events] = [await rowCount(), await eventCount()];
  const dry = await cli(['--dry-run', file]).done;
  expect(dry.status).toBe(0);
  expect(counts(dry.stdout)).toEqual({ inserted: 1, skipped: 2, errors: 0 });
  expect([await rowCount(), await eventCount()]).toEqual([rows, events]);
});

test('a record already written by the sandbox with the same input hash is skipped', async () => {
  const t = await startTestService({ COSTSIM_V2_SANDBOX: 'true' }, db);
  try {
    const body =
      '{"plan":[{"skill":"shell_lite","params":{"command":"ls -l","timeout":2.50}}],"budget_cents":250}';
    const res = await t.call('POST', '/costsim/v2/simulate', { key: testKeys.write, body });
    const id = ((await res.json()) as { provenance_id: string }).provenance_id;
    await eventually(async () => expect(await rowCount(`id = '${id}'`)).toBe(1));
    const file = join(dir, 'sandboxed.jsonl');
    writeFileSync(file, `${body}\n`);
    const run = await cli([file]).done;
    expect(counts(run.stdout)).toEqual({ inserted: 0, skipped: 1, errors: 0 });
    expect(
      await rowCount(
        `source = 'backfill' and input_hash = (select input_hash from provenance where id = '${id}')`,
      ),
    ).toBe(0);
  } finally {
    await t.service.stop();
  }
}, 60_000);

/** 100 000 lines of ~1.2 kB: 1000 distinct inputs, each 100 times. */
async function writeBigFile(path: string): Promise<number> {
  const out = createWriteStream(path);
  const prompt = 'p'.repeat(1100);
  for (let i = 0; i < 100_000; i++) {
    const line = `{"plan":[{"skill":"llm_invoke","params":{"prompt":"${prompt}"}},{"skill":"kv_get"}],"budget_cents":${i % 1000}}\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return statSync(path).size;
}

test('a 100 000-line JSONL file is streamed with bounded memory', async () => {
  const file = join(dir, 'big.jsonl');
  const bytes = await writeBigFile(file);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const store = new PostgresEventStore(pool);
  const projector = new Projector({
    pool,
    store,
    connectionString: db.url,
    projections: [provenanceProjection],
    lockId: LockIds.projector,
    pollMs: 20,
  });
  projector.start();
  // Live memory is what streaming bounds: measured after a full GC at every chunk (RSS also holds garbage
  // V8 has not collected yet, so it is printed but not asserted on).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const heapBaseline = process.memoryUsage().heapUsed;
  let heapPeak = heapBaseline;
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const result = await runBaselineBackfill([file], {
      connectionString: db.url,
      pool,
      writer: new ProvenanceWriter(store),
      lockId: LockIds.baselineBackfill,
      dryRun: false,
      onProgress: () => {
        gc();
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      },
      awaitProjected: async (ids) =>
        eventually(async () => {
          const { rows } = await pool.query(
            'select count(*)::int as n from provenance where id = any($1::uuid[])',
            [ids],
          );
          expect(rows[0].n).toBe(ids.length);
        }, 120_000),
    });
    peak = Math.max(peak, process.memoryUsage().rss);
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    console.log(
      `backfill of ${mb(bytes)} MiB, 100 000 lines: RSS growth ${mb(peak - baseline)} MiB (peak ${mb(peak)} MiB); ` +
        `live heap growth after GC at most ${mb(heapPeak - heapBaseline)} MiB`,
    );
    expect(result).toEqual({ inserted: 1000, skipped: 99_000, errors: 0 });
    // Streamed: live memory stays a small fraction of the file (holding its lines would take more than it).
    expect(heapPeak - heapBaseline).toBeLessThan(bytes / 4);
  } finally {
    clearInterval(sampler);
    await projector.stop();
    await pool.end();
  }
}, 180_000);

test('two concurrent backfills: one runs, the other reports the lock and exits non-zero', async () => {
  const file = join(dir, 'big.jsonl'); // 1000 inputs already stored: the first run reads all and skips
  const first = cli([file]);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    // wait until the first holds lock 7004
    await eventually(
      async () => {
        const { rows } = await admin.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = $1 and granted`,
          [LockIds.baselineBackfill],
        );
        expect(rows[0].n).toBe(1);
      },
      60_000,
      10,
    );
    const second = await cli([file]).done;
    expect(second.status).toBe(3);
    expect(second.stderr).toContain('another backfill holds the lock (advisory lock 7004)');
    const done = await first.done;
    expect(done.status).toBe(0);
    expect(counts(done.stdout)).toEqual({ inserted: 0, skipped: 100_000, errors: 0 });
  } finally {
    await admin.end();
  }
}, 180_000);
