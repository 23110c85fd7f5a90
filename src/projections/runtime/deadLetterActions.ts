import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DEAD_LETTER_STREAM, type DeadLetterDecision } from '../../domain/projections/deadLetterEvents';
import type { EventStore } from '../../infra/eventStore/eventStore';
import { LockIds } from '../../infra/postgres/lockIds';
import { inTransaction } from '../../infra/postgres/pool';
import type { Projection } from '../projection';
import { errorText } from './checkpoints';
import { type DeadLetterStatus, recordDeadLetterFailure, resolveDeadLetter } from './deadLetters';

export type DeadLetterActionResult =
  | { eventId: string; outcome: 'applied' | 'skipped' }
  | { eventId: string; outcome: 'failed'; error: string }
  /** Not parked (any more): nothing done. */
  | { eventId: string; outcome: 'not_parked'; status: DeadLetterStatus }
  | { eventId: string; outcome: 'not_found' };

export class DeadLetterActionRefused extends Error {}

interface Locked {
  stream_name: string;
  stream_version: string;
  status: DeadLetterStatus;
}

async function lockRow(tx: pg.ClientBase, projection: string, eventId: string): Promise<Locked | undefined> {
  const { rows } = await tx.query<Locked>(
    `select stream_name, stream_version, status from projection_dead_letters
      where projection = $1 and event_id = $2 for update`,
    [projection, eventId],
  );
  return rows[0];
}

/**
 * The decision as an event in the same transaction as the row's change (es_append is one SQL function
 * call; the store's port has no transactional append), so the audit log and the table never disagree.
 */
async function appendDecision(tx: pg.ClientBase, event: DeadLetterDecision): Promise<void> {
  await tx.query('select * from es_append($1, $2, $3, $4::jsonb)', [
    DEAD_LETTER_STREAM,
    'any',
    null,
    JSON.stringify([
      { id: randomUUID(), type: event.type, data: event.data, metadata: { actor: event.data.actor } },
    ]),
  ]);
}

/**
 * Applies a parked event to the live tables now, in one transaction with the checkpoint row locked (the
 * projector's batch of this projection waits, so the two never interleave). Refused while a rebuild of
 * the projection runs: the rebuild's copies would not get it. Out of order by nature: fine for the
 * projections that park (idempotent by id or monotonic), which is why only they park.
 */
export async function retryDeadLetter(
  pool: pg.Pool,
  store: EventStore,
  projection: Projection,
  eventId: string,
  actor: string,
): Promise<DeadLetterActionResult> {
  return inTransaction(pool, async (tx) => {
    const { rows } = await tx.query<{ free: boolean }>(
      'select pg_try_advisory_xact_lock($1, hashtext($2)) as free',
      [LockIds.projectionRebuild, projection.name],
    );
    if (!rows[0]?.free) {
      throw new DeadLetterActionRefused(
        `a rebuild of ${projection.name} is running; retry after it has swapped its tables in (it retries parked events itself)`,
      );
    }
    const row = await lockRow(tx, projection.name, eventId);
    if (!row) return { eventId, outcome: 'not_found' };
    if (row.status !== 'parked') return { eventId, outcome: 'not_parked', status: row.status };
    await tx.query('select 1 from projection_checkpoints where name = $1 for update', [projection.name]);
    const [event] = await store.readStream(row.stream_name, { from: Number(row.stream_version), limit: 1 });
    if (!event || event.eventId !== eventId) return { eventId, outcome: 'not_found' };
    const at = new Date().toISOString();
    await tx.query('savepoint costsim_retry');
    try {
      await projection.apply(tx, [event]);
    } catch (err) {
      await tx.query('rollback to savepoint costsim_retry');
      await recordDeadLetterFailure(tx, projection.name, eventId, err);
      const error = errorText(err).slice(0, 2000);
      await appendDecision(tx, {
        type: 'DeadLetterRetried',
        data: { projection: projection.name, event_id: eventId, actor, at, outcome: 'failed', error },
      });
      return { eventId, outcome: 'failed', error };
    }
    await resolveDeadLetter(tx, projection.name, eventId, { status: 'retried', by: actor, note: null });
    await appendDecision(tx, {
      type: 'DeadLetterRetried',
      data: { projection: projection.name, event_id: eventId, actor, at, outcome: 'applied' },
    });
    return { eventId, outcome: 'applied' };
  });
}

/** Resolves a parked event without applying it; the reason is kept on the row and in the event. */
export async function skipDeadLetter(
  pool: pg.Pool,
  projection: string,
  eventId: string,
  actor: string,
  reason: string | null,
): Promise<DeadLetterActionResult> {
  return inTransaction(pool, async (tx) => {
    const row = await lockRow(tx, projection, eventId);
    if (!row) return { eventId, outcome: 'not_found' };
    if (row.status !== 'parked') return { eventId, outcome: 'not_parked', status: row.status };
    await resolveDeadLetter(tx, projection, eventId, { status: 'skipped', by: actor, note: reason });
    await appendDecision(tx, {
      type: 'DeadLetterSkipped',
      data: { projection, event_id: eventId, actor, at: new Date().toISOString(), reason },
    });
    return { eventId, outcome: 'skipped' };
  });
}
