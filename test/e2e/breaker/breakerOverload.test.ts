import pg from 'pg';
import { eventually } from '../../support/eventually';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';

/**
 * Load shedding: while one append is stuck (es_events locked by another session, as during a long
 * migration or a lock pile-up), commands for that breaker queue up to COMMAND_QUEUE_LIMIT; beyond it they
 * are refused at once with 503 + Retry-After and write nothing. Once the lock goes, every accepted command
 * completes, in order.
 */
let t: TestService;
const LIMIT = 4;

beforeAll(async () => {
  t = await startTestService({ COMMAND_QUEUE_LIMIT: String(LIMIT), COSTSIM_BREAKERS: 'overloaded' });
});
afterAll(async () => t.stop());

const drift = () =>
  t.call('POST', '/costsim/breakers/overloaded/drift', { key: testKeys.write, body: { drift_score: 0.1 } });

test('past the queue limit a command is refused with 503 and Retry-After, and nothing is lost of the accepted ones', async () => {
  const blocker = new pg.Client({ connectionString: t.db.url });
  await blocker.connect();
  try {
    await blocker.query('begin');
    await blocker.query('lock table es_events in exclusive mode');
    const first = drift(); // goes in flight and waits for the lock
    await eventually(async () => {
      const { rows } = await t.db.pool.query<{ n: string }>(
        `select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation
          where c.relname = 'es_events' and not l.granted`,
      );
      expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(1);
    });
    const queued = Array.from({ length: LIMIT }, () => drift());
    await eventually(() => expect(t.breaker.service.runner.waiting('breaker-overloaded')).toBe(LIMIT));
    const refused = await drift();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const body = (await refused.json()) as { type: string; detail: string };
    expect(body.type).toMatch(/overloaded$/);
    expect(body.detail).toContain(`${LIMIT} commands are already waiting on breaker-overloaded`);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^costsim_cb_commands_waiting(\\{[^}]*\\})? ${LIMIT}$`, 'm'));

    await blocker.query('commit');
    const answers = await Promise.all([first, ...queued]);
    expect(answers.map((r) => r.status)).toEqual(Array(LIMIT + 1).fill(200));
  } finally {
    await blocker.end();
  }
  const { rows } = await t.db.pool.query<{ v: string }>(
    `select stream_version as v from es_events where stream_name = 'breaker-overloaded' order by 1`,
  );
  // Exactly the accepted commands, versions contiguous: every refused one wrote nothing.
  expect(rows.map((r) => Number(r.v))).toEqual(Array.from({ length: LIMIT + 1 }, (_, i) => i + 1));
});
