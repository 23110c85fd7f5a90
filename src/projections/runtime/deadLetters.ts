import type pg from 'pg';
import type { StoredEvent } from '../../infra/eventStore/eventStore';
import { errorText } from './checkpoints';

/** An event set aside by a projection, with the error it failed on (migration 009). */
export interface ParkedEvent {
  event: StoredEvent;
  error: unknown;
}

export type DeadLetterStatus = 'parked' | 'retried' | 'skipped';

export interface DeadLetter {
  projection: string;
  eventId: string;
  transactionId: string;
  globalPosition: number;
  streamName: string;
  streamVersion: number;
  eventType: string;
  error: string;
  failures: number;
  status: DeadLetterStatus;
  parkedAt: Date;
  lastFailedAt: Date;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
}

/**
 * Parks events in the batch's transaction (so they are parked exactly when the checkpoint moves past them).
 * Parking again (a rebuild that fails on the same event) counts the failure and re-opens a row an operator
 * had retried; a skipped row stays skipped: the operator decided it.
 */
export async function parkEvents(
  tx: pg.ClientBase,
  projection: string,
  parked: readonly ParkedEvent[],
): Promise<void> {
  if (parked.length === 0) return;
  await tx.query(
    `insert into projection_dead_letters as d (projection, event_id, transaction_id, global_position,
                                               stream_name, stream_version, event_type, error)
     select $1, p.event_id, p.transaction_id::xid8, p.global_position, p.stream_name, p.stream_version,
            p.event_type, p.error
       from jsonb_to_recordset($2::jsonb) as p(event_id uuid, transaction_id text, global_position bigint,
                                               stream_name text, stream_version bigint, event_type text,
                                               error text)
     on conflict (projection, event_id) do update set
       error = excluded.error, failures = d.failures + 1, last_failed_at = now(),
       status = case when d.status = 'skipped' then 'skipped' else 'parked' end,
       resolved_at = case when d.status = 'skipped' then d.resolved_at end,
       resolved_by = case when d.status = 'skipped' then d.resolved_by end,
       resolution_note = case when d.status = 'skipped' then d.resolution_note end`,
    [
      projection,
      JSON.stringify(
        parked.map(({ event, error }) => ({
          event_id: event.eventId,
          transaction_id: event.transactionId,
          global_position: event.globalPosition,
          stream_name: event.streamName,
          stream_version: event.streamVersion,
          event_type: event.type,
          // Error text stays in the database (CLI, authenticated route): never on public endpoints.
          error: errorText(error).slice(0, 2000),
        })),
      ),
    ],
  );
}

interface DeadLetterRow {
  projection: string;
  event_id: string;
  transaction_id: string;
  global_position: string;
  stream_name: string;
  stream_version: string;
  event_type: string;
  error: string;
  failures: number;
  status: DeadLetterStatus;
  parked_at: Date;
  last_failed_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

const toDeadLetter = (r: DeadLetterRow): DeadLetter => ({
  projection: r.projection,
  eventId: r.event_id,
  transactionId: r.transaction_id,
  globalPosition: Number(r.global_position),
  streamName: r.stream_name,
  streamVersion: Number(r.stream_version),
  eventType: r.event_type,
  error: r.error,
  failures: r.failures,
  status: r.status,
  parkedAt: r.parked_at,
  lastFailedAt: r.last_failed_at,
  resolvedAt: r.resolved_at,
  resolvedBy: r.resolved_by,
  resolutionNote: r.resolution_note,
});

const DEAD_LETTER_COLUMNS = `projection, event_id, transaction_id::text, global_position, stream_name, stream_version,
  event_type, error, failures, status, parked_at, last_failed_at, resolved_at, resolved_by, resolution_note`;

/** Dead letters in the order they were parked; `status` 'all' includes resolved ones. */
export async function listDeadLetters(
  db: pg.Pool | pg.ClientBase,
  filter: { projection?: string; status?: DeadLetterStatus | 'all'; eventIds?: readonly string[] } = {},
  limit = 1000,
): Promise<DeadLetter[]> {
  const status = filter.status ?? 'parked';
  const { rows } = await db.query<DeadLetterRow>(
    `select ${DEAD_LETTER_COLUMNS} from projection_dead_letters
      where ($1::text is null or projection = $1) and ($2::text = 'all' or status = $2)
        and ($3::uuid[] is null or event_id = any($3::uuid[]))
      order by parked_at, projection, global_position
      limit $4`,
    [filter.projection ?? null, status, filter.eventIds ?? null, limit],
  );
  return rows.map(toDeadLetter);
}

/** Open dead letters per projection (the costsim_projector_dead_letters gauge, readiness). */
export async function parkedCounts(db: pg.Pool | pg.ClientBase): Promise<Map<string, number>> {
  const { rows } = await db.query<{ projection: string; n: number }>(
    `select projection, count(*)::int as n from projection_dead_letters where status = 'parked' group by projection`,
  );
  return new Map(rows.map((r) => [r.projection, r.n]));
}

/** Marks a dead letter resolved (in the operator's transaction, beside its audit event). */
export async function resolveDeadLetter(
  tx: pg.ClientBase,
  projection: string,
  eventId: string,
  resolution: { status: 'retried' | 'skipped'; by: string; note: string | null },
): Promise<void> {
  await tx.query(
    `update projection_dead_letters set status = $3, resolved_at = now(), resolved_by = $4, resolution_note = $5
      where projection = $1 and event_id = $2`,
    [projection, eventId, resolution.status, resolution.by, resolution.note],
  );
}

/** A retry that failed again: the row stays parked with the new error. */
export async function recordDeadLetterFailure(
  db: pg.Pool | pg.ClientBase,
  projection: string,
  eventId: string,
  error: unknown,
): Promise<void> {
  await db.query(
    `update projection_dead_letters set error = $3, failures = failures + 1, last_failed_at = now()
      where projection = $1 and event_id = $2`,
    [projection, eventId, errorText(error).slice(0, 2000)],
  );
}
