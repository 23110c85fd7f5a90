import { rmSync } from 'node:fs';
import { type RunningAlertmanager, startAlertmanager } from '../../support/alertmanager';
import { testWithAlertmanager } from '../../support/alertmanagerAvailability';
import { eventually } from '../../support/eventually';
import { startQuietServe } from '../../support/quietServe';
import { replicaEnv } from '../../support/replicaEnv';
import type { ServeProcess } from '../../support/serveProcess';
import { testKeys } from '../../support/serviceHarness';
import { createTestDatabase, type TestDatabase } from '../../support/testDatabase';

/**
 * Three `serve` replicas, one real Alertmanager that goes down in the middle: trips on 12 breakers spread
 * over the replicas while it is down, and more after it is back. Every incident's alert reaches it, each
 * queue row is delivered exactly once (one AlertDelivered per row), and no row is left pending or failed.
 */
jest.setTimeout(90_000);

let db: TestDatabase;
let am: RunningAlertmanager;
const dirs: string[] = [];
const procs: ServeProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  am = await startAlertmanager();
  for (let i = 0; i < 3; i++) {
    procs.push(
      await startQuietServe({
        ...replicaEnv(db.url, 'alert-replica', i, dirs),
        ALERTMANAGER_URL: am.url,
        ALERTMANAGER_TIMEOUT: '1',
        ALERT_DELIVERY_POLL_MS: '100',
        COSTSIM_BREAKERS: [
          ...Array.from({ length: 12 }, (_, i) => `replica_${i}`),
          ...Array.from({ length: 6 }, (_, i) => `replica_after_${i}`),
        ].join(','),
      }),
    );
  }
}, 90_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await am?.stop();
  await db?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const disable = async (proc: number, breaker: string) => {
  const res = await fetch(`${procs[proc]!.url}/costsim/breakers/${breaker}/disable`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${testKeys.admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason: 'replica test' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { incident: { id: string } }).incident.id;
};

testWithAlertmanager(
  'trips during an Alertmanager outage and after it, over three replicas: every alert delivered exactly once',
  async () => {
    await am.kill();
    const during = await Promise.all(Array.from({ length: 12 }, (_, i) => disable(i % 3, `replica_${i}`)));
    // Attempts fail while it is down (rows stay pending, with the error), nothing is marked sent.
    await eventually(async () => {
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from alert_queue where attempts > 0 and status = 'pending' and last_error is not null`,
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
    });
    const { rows: sentEarly } = await db.pool.query(
      `select count(*)::int as n from alert_queue where status = 'sent'`,
    );
    expect(sentEarly[0].n).toBe(0);

    await am.start();
    const after = await Promise.all(
      Array.from({ length: 6 }, (_, i) => disable(i % 3, `replica_after_${i}`)),
    );
    const incidents = [...during, ...after];
    await eventually(async () => {
      const listed = new Set((await am.alerts()).map((a) => a.annotations.incident_id));
      expect(incidents.filter((id) => !listed.has(id))).toEqual([]);
    }, 40_000);
    await eventually(async () => {
      const { rows } = await db.pool.query<{ status: string; n: number }>(
        `select status, count(*)::int as n from alert_queue group by status`,
      );
      expect(rows).toEqual([{ status: 'sent', n: 18 }]);
    }, 40_000);
    const { rows: delivered } = await db.pool.query<{ n: number; rows: number }>(
      `select count(*)::int as n, count(distinct data->>'row_id')::int as rows
       from es_events where event_type = 'AlertDelivered'`,
    );
    expect(delivered[0]).toEqual({ n: 18, rows: 18 });
  },
);
