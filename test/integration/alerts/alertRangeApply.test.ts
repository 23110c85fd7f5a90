import {
  ALERT_ADMIN_STREAM,
  alertDeliveryStream,
  routedRowId,
} from '../../../src/domain/alerts/alertDeliveryEvents';
import { deterministicUuid } from '../../../src/commands/deterministicUuid';
import { type Checkpoint, type NewEvent, START } from '../../../src/infra/eventStore/eventStore';
import { PostgresEventStore } from '../../../src/infra/eventStore/postgresEventStore';
import { inTransaction } from '../../../src/infra/postgres/pool';
import { alertQueueProjection } from '../../../src/projections/alerts/alertQueueProjection';
import { cbIncidentsProjection } from '../../../src/projections/breaker/cbIncidentsProjection';
import type { Projection } from '../../../src/projections/projection';
import { ensureCheckpoints } from '../../../src/projections/runtime/checkpoints';
import { applyBatch } from '../../../src/projections/runtime/projectionApplier';
import { applyPositions } from '../../../src/projections/runtime/rangeApplier';
import type { TestDatabase } from '../../support/testDatabase';
import { eventStoreDatabase } from '../../support/eventStoreDatabase';
import { seededRandom } from '../../support/seededRandom';

/**
 * Delivery outcomes applied by range in SQL from the stored rows (alert_queue's and cb_incidents'
 * rangeStatement, what their lanes run) against the same events applied through `apply`: the same rows,
 * for outcomes as the delivery worker writes them (attempts rising by one per row, failures with back-off,
 * final failures, deliveries after failures, operator retries between them), with random batch cuts, and
 * whether the worker had applied them inline already (the usual case: the lane changes nothing) or not (a
 * rebuild) — a random prefix of the log is applied to both copies first, as the worker would have.
 */
let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => ({ db, store } = await eventStoreDatabase()));
afterAll(async () => db.drop());

/** Deterministic: a failure reproduces. */
const random = seededRandom;

const TARGET = 'http://am.test';
const ROWS = 60;
const T0 = Date.parse('2026-12-01T00:00:00Z');

interface Row {
  intent: string;
  incident: string | null;
  alertType: string;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  maxAttempts: number;
}

const schemas = ['by_events', 'by_range'] as const;

test('the same alert_queue and cb_incidents rows by range as by events, applied inline before or not', async () => {
  const rnd = random(31);
  const rows: Row[] = Array.from({ length: ROWS }, (_, i) => ({
    intent: `ev${i}:disable`,
    // a few rows share an incident (its alert sent by the first delivery), some have none
    incident: i % 7 === 6 ? null : `inc${i % 12}`,
    alertType: i % 5 === 4 ? 'enable' : 'disable',
    status: 'pending',
    attempts: 0,
    maxAttempts: 3 + (i % 3),
  }));
  for (const schema of schemas) {
    await db.pool.query(
      `create schema ${schema};
       create table ${schema}.alert_queue (like public.alert_queue including all);
       create table ${schema}.alert_firing (like public.alert_firing including all);
       create table ${schema}.cb_incidents (like public.cb_incidents including all);`,
    );
    // The routed rows, and the incidents (two already marked, with an earlier time that must stay).
    await db.pool.query(
      `insert into ${schema}.alert_queue (id, intent_key, alert_type, incident_id, target, max_attempts,
                                         next_attempt_at, created_at)
       select r->>'id', r->>'intent', r->>'type', r->>'incident', $2, (r->>'max')::int, $3, $3
         from jsonb_array_elements($1::jsonb) r`,
      [
        JSON.stringify(
          rows.map((r) => ({
            id: routedRowId(r.intent, TARGET),
            intent: r.intent,
            type: r.alertType,
            incident: r.incident,
            max: r.maxAttempts,
          })),
        ),
        TARGET,
        new Date(T0).toISOString(),
      ],
    );
    await db.pool.query(
      `insert into ${schema}.cb_incidents (id, breaker, timestamp, reason, severity, trigger, details,
                                          stream_version, alert_sent, alert_sent_at)
       select 'inc' || g, 'b' || g, $1, 'r', 'P2', 'manual', '{}', 1, g < 2,
              case when g < 2 then $1::timestamptz end
         from generate_series(0, 11) g`,
      [new Date(T0 - 60_000).toISOString()],
    );
  }

  // Outcomes as the worker writes them, a batch of rows per append (one stream per row), at rising times;
  // now and then an operator retry of every failed row.
  let at = T0;
  for (let batch = 0; batch < 70; batch++) {
    const due = rows.filter((r) => r.status === 'pending');
    if (due.length === 0) break;
    const picked = due.filter(() => rnd() < 0.25).slice(0, 1 + Math.floor(rnd() * 12));
    at += 1000 + Math.floor(rnd() * 5000);
    const appends = picked.map((r) => {
      const attempts = r.attempts + 1;
      const base = {
        row_id: routedRowId(r.intent, TARGET),
        intent_key: r.intent,
        alert_type: r.alertType,
        incident_id: r.incident,
        target: TARGET,
        attempts,
        at: new Date(at).toISOString(),
        payload: rnd() < 0.1 ? null : [{ labels: { alertname: 'X', n: `${attempts}` }, batch }],
      };
      const delivered = rnd() < 0.35;
      const final = !delivered && (attempts >= r.maxAttempts || rnd() < 0.1);
      r.attempts = attempts;
      r.status = delivered ? 'sent' : final ? 'failed' : 'pending';
      const event: NewEvent = delivered
        ? { type: 'AlertDelivered', data: base }
        : {
            type: 'AlertDeliveryFailed',
            data: {
              ...base,
              error: `error ${batch}`,
              next_attempt_at: final ? null : new Date(at + attempts * 30_000).toISOString(),
            },
          };
      return {
        stream: alertDeliveryStream(base.row_id),
        events: [{ ...event, id: deterministicUuid(`${base.row_id}#${attempts}`) }],
      };
    });
    if (appends.length > 0) await inTransaction(db.pool, (tx) => store.appendToStreams(appends, { tx }));
    if (rnd() < 0.08) {
      const failed = rows.filter((r) => r.status === 'failed');
      for (const r of failed) {
        r.maxAttempts += 2;
        r.status = 'pending';
      }
      await store.append(ALERT_ADMIN_STREAM, [
        {
          type: 'AlertsRetried',
          data: {
            rows: failed.map((r) => ({ id: routedRowId(r.intent, TARGET), max_attempts: r.maxAttempts })),
            extra_attempts: 2,
            actor: 'test',
            at: new Date(at).toISOString(),
          },
        },
      ]);
    }
  }
  const { rows: counts } = await db.pool.query<{ type: string; n: number }>(
    `select event_type as type, count(*)::int as n from es_events group by 1`,
  );
  const count = (type: string) => counts.find((c) => c.type === type)?.n ?? 0;
  expect(count('AlertDelivered')).toBeGreaterThan(20);
  expect(count('AlertDeliveryFailed')).toBeGreaterThan(40);
  expect(count('AlertsRetried')).toBeGreaterThan(1);

  for (const projection of [alertQueueProjection, cbIncidentsProjection]) {
    // What the worker applied inline (alert_queue's outcomes; cb_incidents has no other writer than its
    // lane): the same random prefix of the log, to both copies.
    const all = await store.readAll({ after: START, limit: 100_000, types: projection.handles });
    const inline = projection.writtenOutsideProjector ? Math.floor(rnd() * all.events.length) : 0;
    const prefix = all.events.slice(0, inline);
    for (const schema of schemas) {
      await inTransaction(db.pool, async (tx) => {
        await tx.query(`set local search_path to ${schema}, public`);
        await projection.apply(tx, prefix);
      });
    }
    await compareByRangeAndByEvents(projection, rnd);
  }

  const queue = await tableOf('by_range', 'alert_queue');
  expect(queue).toEqual(await tableOf('by_events', 'alert_queue'));
  // The rows ended in every state, and what the projection wrote is what the events said.
  const statusOf = (r: Row) => queue.find((q) => q.id === routedRowId(r.intent, TARGET))!.status;
  for (const r of rows) expect([r.intent, statusOf(r)]).toEqual([r.intent, r.status]);
  expect(new Set(queue.map((q) => q.status))).toEqual(new Set(['pending', 'sent', 'failed']));
  const incidents = await tableOf('by_range', 'cb_incidents');
  expect(incidents).toEqual(await tableOf('by_events', 'cb_incidents'));
  // Each incident's alert was sent at its first delivery (or before the log, for the two marked so).
  const { rows: first } = await db.pool.query<{ id: string; at: Date }>(
    `select data->>'incident_id' as id, min((data->>'at')::timestamptz) as at from es_events
      where event_type = 'AlertDelivered' and data->>'alert_type' = 'disable' group by 1`,
  );
  const sentAt = (id: string) =>
    id === 'inc0' || id === 'inc1' ? new Date(T0 - 60_000) : (first.find((f) => f.id === id)?.at ?? null);
  expect(incidents.filter((i) => i.alert_sent).length).toBeGreaterThan(5);
  for (const i of incidents) expect([i.id, i.alert_sent_at]).toEqual([i.id, sentAt(i.id as string)]);
});

async function tableOf(schema: string, table: string): Promise<Array<Record<string, unknown>>> {
  return (await db.pool.query(`select * from ${schema}.${table} order by 1`)).rows;
}

/** The same reads both ways (random batch sizes), from the start, each copy applied its way. */
async function compareByRangeAndByEvents(projection: Projection, rnd: () => number): Promise<void> {
  const checkpoint = (schema: string) => `${projection.name}_${schema}`;
  await ensureCheckpoints(
    db.pool,
    schemas.map((s) => ({ name: checkpoint(s), handles: projection.handles })),
  );
  const target = (schema: string) => ({
    projection,
    checkpointName: checkpoint(schema),
    searchPath: `${schema}, public`,
  });
  let cursor: Checkpoint = START;
  let batches = 0;
  for (;;) {
    const limit = 1 + Math.floor(rnd() * 30);
    const options = { after: cursor, limit, types: projection.handles };
    const [events, positions] = await Promise.all([store.readAll(options), store.readPositions(options)]);
    if (events.events.length === 0) break;
    await applyBatch(db.pool, target('by_events'), cursor, events.events, events.checkpoint);
    await applyPositions(
      db.pool,
      target('by_range'),
      cursor,
      positions.events,
      positions.checkpoint,
      (range) => store.readRange(range),
    );
    cursor = events.checkpoint;
    batches++;
  }
  expect(batches).toBeGreaterThan(2);
}
