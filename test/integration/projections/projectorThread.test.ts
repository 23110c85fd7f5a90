import { loadConfig } from '../../../src/infra/config/config';
import { LockIds } from '../../../src/infra/postgres/lockIds';
import { ProjectorThread } from '../../../src/projections/runtime/projectorThread';
import { eventually } from '../../support/eventually';
import { capturingLogger } from '../../support/logCapture';
import { type TestService, startTestService, testKeys } from '../../support/serviceHarness';
import { type TestDatabase, createTestDatabase } from '../../support/testDatabase';

/**
 * The projector on a thread of its own (PROJECTOR_THREAD=worker, the default): it projects, the service's
 * metrics, health and logger learn what it does through messages, a stop drains it with its checkpoint
 * stored and its lock released, and a thread that dies is logged, counted and restarted.
 */

const metricValue = (text: string, series: string) =>
  Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('a service with its projector thread', () => {
  let svc: TestService;
  const { logger, lines } = capturingLogger('info');

  beforeAll(async () => {
    svc = await startTestService({ LOG_LEVEL: 'info' }, undefined, { logger });
  });
  afterAll(async () => {
    await svc.stop(); // once: the test stops the service itself, and a second stop waits for the first
  });

  test('projects on its own connections and tells metrics, health and the log; a stop drains it', async () => {
    expect(svc.service.projector).toBeInstanceOf(ProjectorThread);
    await eventually(() => expect(svc.service.projector?.isLeader).toBe(true));
    const res = await svc.call('POST', '/costsim/breakers/costsim_v2/disable', {
      key: testKeys.admin,
      body: { reason: 'projector thread test' },
    });
    expect(res.status).toBe(200);
    await eventually(async () => {
      const { rows } = await svc.db.pool.query<{ open: boolean; reason: string | null }>(
        `select open, disabled_reason as reason from cb_state where name = 'costsim_v2' and tenant_id is null`,
      );
      expect(rows[0]).toEqual({ open: true, reason: 'projector thread test' });
    });
    // The lanes' connections are the thread's pool, not the service's.
    const { rows: apps } = await svc.db.pool.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name like '%:projector'`,
    );
    expect(apps[0]!.n).toBeGreaterThan(0);

    const text = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metricValue(text, 'costsim_projector_leader')).toBe(1);
    expect(metricValue(text, 'costsim_projector_thread_up')).toBe(1);
    expect(metricValue(text, 'costsim_projector_thread_restarts_total')).toBe(0);
    expect(metricValue(text, 'costsim_projector_events_total{projection="cb_state"}')).toBeGreaterThanOrEqual(
      1,
    );
    // Batches are transactions with events: never more of them than events, at least one.
    const batches = metricValue(text, 'costsim_projector_batches_total{projection="cb_state"}');
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(
      metricValue(text, 'costsim_projector_events_total{projection="cb_state"}'),
    );
    const ready = (await (await fetch(`${svc.url}/health/ready`)).json()) as {
      checks: Record<string, unknown>;
    };
    expect(ready.checks.projector_thread).toEqual({ status: 'running', restarts: 0 });
    // The thread's log lines come out of the service's logger, marked as the thread's.
    expect(lines).toContainEqual(expect.objectContaining({ thread: 'projector', msg: 'projector: leading' }));

    const { rows: last } = await svc.db.pool.query<{ tx: string }>(
      `select max(transaction_id)::text as tx from es_events where stream_name like 'breaker-%'`,
    );
    await svc.service.stop();
    const { rows: checkpoint } = await svc.db.pool.query<{ passed: boolean }>(
      `select transaction_id >= $1::xid8 as passed from projection_checkpoints where name = 'cb_state'`,
      [last[0]!.tx],
    );
    expect(checkpoint[0]?.passed).toBe(true);
    const { rows: locks } = await svc.db.pool.query<{ n: number }>(
      `select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database
        where d.datname = current_database() and l.locktype = 'advisory' and l.objid = $1`,
      [LockIds.projector],
    );
    expect(locks[0]!.n).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({ thread: 'projector', msg: 'projector: standing by' }),
    );
  });
});

describe('a projector thread that dies', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await db.drop();
  });

  test('is logged at error with its error, counted, restarted after a back-off, and stops cleanly', async () => {
    const { logger, lines } = capturingLogger('info');
    const ups: boolean[] = [];
    let crashes = 0;
    const thread = new ProjectorThread({
      // A projection this build does not have: the thread throws as it starts, every time.
      data: {
        connectionString: db.url,
        instanceId: 'crash-test',
        logLevel: 'info',
        lockId: LockIds.projector,
        projectionNames: ['no_such_projection'],
        projector: loadConfig({}).projector,
      },
      logger,
      observer: { onThreadUp: (up) => ups.push(up), onThreadCrash: () => crashes++ },
      restart: { minMs: 10, maxMs: 40 },
    });
    thread.start();
    await eventually(() => expect(thread.status().restarts).toBeGreaterThanOrEqual(2));
    await thread.stop();
    const status = thread.status();
    expect(status.state).toBe('stopped');
    expect(status.lastExit?.code).toBe(1);
    expect(status.lastExit?.error).toMatch(/unknown projection no_such_projection/);
    expect(crashes).toBeGreaterThanOrEqual(2);
    expect(ups.slice(0, 4)).toEqual([true, false, true, false]);
    expect(thread.isLeader).toBe(false);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: 'projector thread ended unexpectedly; restarting it' }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        msg: 'projector thread: uncaught error',
        err: expect.objectContaining({ message: expect.stringMatching(/no_such_projection/) }),
      }),
    );
  });
});
