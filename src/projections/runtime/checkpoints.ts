import type pg from 'pg';
import { type Checkpoint, START } from '../../infra/eventStore/eventStore';
import { advisoryLockHeldSql } from '../../infra/postgres/leaderElector';
import { isPgError } from '../../infra/postgres/pool';

export class StaleCheckpointError extends Error {
  constructor(readonly projection: string) {
    super(`Checkpoint of projection ${projection} moved under us: another projector applied this batch`);
    this.name = 'StaleCheckpointError';
  }
}

export class LeadershipLostError extends Error {
  constructor() {
    super('Projector leadership lost: batch rolled back');
    this.name = 'LeadershipLostError';
  }
}

export interface EventRef {
  eventId: string;
  streamName: string;
  streamVersion: number;
  type: string;
}

/**
 * A projection threw while applying events. `isolated`: the runtime narrowed the failure down to this one
 * event; otherwise it names the first event of the batch it was given.
 */
export class ProjectionApplyError extends Error {
  constructor(
    readonly projection: string,
    readonly event: EventRef,
    readonly batchSize: number,
    override readonly cause: unknown,
    readonly isolated = false,
  ) {
    const where = isolated
      ? `on ${event.type} ${event.streamName}@${event.streamVersion} (${event.eventId})`
      : `on a batch of ${batchSize} starting at ${event.type} ${event.streamName}@${event.streamVersion} (${event.eventId})`;
    super(`projection ${projection} failed ${where}: ${errorText(cause)}`);
    this.name = 'ProjectionApplyError';
  }
}

export const errorText = (err: unknown): string =>
  err instanceof Error ? err.message : typeof err === 'string' ? err : String(err);

/** Total order of checkpoints, the same as the store's (transaction_id, global_position). */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}

export const positionOf = (e: { transactionId: string; globalPosition: number }): Checkpoint => ({
  transactionId: e.transactionId,
  globalPosition: e.globalPosition,
});

/** Creates missing checkpoint rows (at the start) and records the event types each projection reads. */
export async function ensureCheckpoints(
  db: pg.Pool | pg.ClientBase,
  lanes: ReadonlyArray<{ name: string; handles: readonly string[] }>,
): Promise<void> {
  await db.query(
    `insert into projection_checkpoints (name, handles)
     select l.name, array(select jsonb_array_elements_text(l.handles))
       from jsonb_to_recordset($1::jsonb) as l(name text, handles jsonb)
     on conflict (name) do update set handles = excluded.handles
       where projection_checkpoints.handles is distinct from excluded.handles`,
    [JSON.stringify(lanes.map((l) => ({ name: l.name, handles: l.handles })))],
  );
}

export async function loadCheckpoint(db: pg.Pool | pg.ClientBase, name: string): Promise<Checkpoint> {
  const { rows } = await db.query<{ transaction_id: string; global_position: string }>(
    'select transaction_id::text, global_position from projection_checkpoints where name = $1',
    [name],
  );
  const row = rows[0];
  return row ? { transactionId: row.transaction_id, globalPosition: Number(row.global_position) } : START;
}

/** Where and why a projection is stuck; written on its checkpoint row. */
export interface CheckpointFailure {
  message: string;
  eventId: string;
}

export function failureOf(error: ProjectionApplyError): CheckpointFailure {
  return { message: error.message.slice(0, 2000), eventId: error.event.eventId };
}

/** The leader's lock, as held by its dedicated connection: a batch commits only while it holds it. */
export interface Fence {
  pid: number;
  lockId: number;
}

const ADVANCE_SET = `set transaction_id = $4::xid8, global_position = $5, updated_at = now(),
            failure_message = $6, failure_event_id = $7::uuid,
            failure_at = case when $6::text is null then null else now() end,
            failure_count = case when $6::text is null then 0 else failure_count + 1 end
      where name = $1 and transaction_id = $2::xid8 and global_position = $3`;

/** With the fence in the same statement: one round trip per batch fewer than a check of its own. */
const FENCED_ADVANCE = `with fence as (select ${advisoryLockHeldSql
  .replace(/\$PID/g, '$8')
  .replace(/\$LOCK/g, '$9')} as held),
     moved as (update projection_checkpoints ${ADVANCE_SET} and (select held from fence) returning 1)
  select (select held from fence) as held, (select count(*) from moved)::int as moved`;

/**
 * Moves a checkpoint from `expected` to `next`, or throws: the compare-and-set that makes a batch
 * exactly-once in effect and fences a projector that lost its leadership. The failure columns are part of
 * the same write: cleared when the checkpoint moves clean, set when the batch stopped at an event it could
 * not apply (non-null exactly while the projection is stuck — the V2 gate fails closed on it). With a
 * `fence`, the leader's lock is checked in the same statement, the last one before commit: without the
 * lock nothing moves (LeadershipLostError).
 */
export async function advanceCheckpoint(
  db: pg.Pool | pg.ClientBase,
  name: string,
  expected: Checkpoint,
  next: Checkpoint,
  failure: CheckpointFailure | null = null,
  fence?: Fence,
): Promise<void> {
  const values: unknown[] = [
    name,
    expected.transactionId,
    expected.globalPosition,
    next.transactionId,
    next.globalPosition,
    failure?.message ?? null,
    failure?.eventId ?? null,
  ];
  if (fence) {
    const { rows } = await db.query<{ held: boolean; moved: number }>(FENCED_ADVANCE, [
      ...values,
      fence.pid,
      fence.lockId,
    ]);
    if (!rows[0]?.held) throw new LeadershipLostError();
    if (rows[0].moved !== 1) throw new StaleCheckpointError(name);
    return;
  }
  const { rowCount } = await db.query(`update projection_checkpoints ${ADVANCE_SET}`, values);
  if (rowCount !== 1) throw new StaleCheckpointError(name);
}

/** Best effort, outside the failed batch's (rolled-back) transaction: where and why a projection is stuck. */
export async function recordProjectionFailure(
  db: pg.Pool | pg.ClientBase,
  name: string,
  failure: CheckpointFailure,
): Promise<void> {
  await db.query(
    `update projection_checkpoints
        set failure_message = $2, failure_event_id = $3, failure_at = now(), failure_count = failure_count + 1
      where name = $1`,
    [name, failure.message, failure.eventId],
  );
}

/**
 * A batch written by one data-modifying statement (`applied`) and the checkpoint's fenced compare-and-set,
 * as ONE statement outside any transaction: its own transaction, one round trip. It ends with
 * projection_batch_checked (migration 070), which raises — the rows go with the statement — when the lock
 * is gone (LeadershipLostError) or the checkpoint moved (StaleCheckpointError). Other errors are the
 * statement's own (about the events or not, as for `apply`).
 */
export async function applyAndAdvance(
  db: pg.Pool,
  applied: { text: string; values: readonly unknown[] },
  name: string,
  expected: Checkpoint,
  next: Checkpoint,
  fence?: Fence,
): Promise<void> {
  const n = applied.values.length;
  // The runtime's parameters come after the statement's own.
  const shift = (sql: string) => sql.replace(/\$(\d+)/g, (_, d: string) => `$${Number(d) + n}`);
  const held = fence ? advisoryLockHeldSql.replace(/\$PID/g, '$8').replace(/\$LOCK/g, '$9') : 'true';
  const text = `with applied as (${applied.text}),
     fence as (select ${shift(held)} as held),
     moved as (update projection_checkpoints ${shift(ADVANCE_SET)} and (select held from fence) returning 1)
  select projection_batch_checked((select held from fence), (select count(*) from moved)::int, ${shift('$1')})`;
  const values = [
    ...applied.values,
    name,
    expected.transactionId,
    expected.globalPosition,
    next.transactionId,
    next.globalPosition,
    null,
    null,
    ...(fence ? [fence.pid, fence.lockId] : []),
  ];
  try {
    await db.query(text, values);
  } catch (err) {
    if (isPgError(err) && err.code === 'CSG01') throw new LeadershipLostError();
    if (isPgError(err) && err.code === 'CSG02') throw new StaleCheckpointError(name);
    throw err;
  }
}
