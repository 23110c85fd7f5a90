import type pg from 'pg';
import { type Checkpoint, START } from '../../infra/eventStore/eventStore';

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

/** A projection threw while applying a batch; names the first event of the batch it was given. */
export class ProjectionApplyError extends Error {
  constructor(
    readonly projection: string,
    readonly event: { eventId: string; streamName: string; streamVersion: number; type: string },
    readonly batchSize: number,
    override readonly cause: unknown,
  ) {
    super(
      `projection ${projection} failed on a batch of ${batchSize} starting at ${event.type} ` +
        `${event.streamName}@${event.streamVersion} (${event.eventId}): ${(cause as Error)?.message ?? String(cause)}`,
    );
    this.name = 'ProjectionApplyError';
  }
}

/** Total order of checkpoints, the same as the store's (transaction_id, global_position). */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}

export function minCheckpoint(checkpoints: Iterable<Checkpoint>): Checkpoint {
  let min: Checkpoint | null = null;
  for (const c of checkpoints) if (!min || compareCheckpoints(c, min) < 0) min = c;
  return min ?? START;
}

export async function ensureCheckpoints(
  db: pg.Pool | pg.ClientBase,
  names: readonly string[],
): Promise<void> {
  await db.query(
    'insert into projection_checkpoints (name) select unnest($1::text[]) on conflict (name) do nothing',
    [names],
  );
}

export async function loadCheckpoints(
  db: pg.Pool | pg.ClientBase,
  names: readonly string[],
): Promise<Map<string, Checkpoint>> {
  const { rows } = await db.query<{ name: string; transaction_id: string; global_position: string }>(
    'select name, transaction_id::text, global_position from projection_checkpoints where name = any($1)',
    [names],
  );
  const found = new Map(
    rows.map((r) => [r.name, { transactionId: r.transaction_id, globalPosition: Number(r.global_position) }]),
  );
  return new Map(names.map((n) => [n, found.get(n) ?? START]));
}

/**
 * Moves a checkpoint from `expected` to `next`, or throws: the compare-and-set that makes a batch
 * exactly-once in effect and fences a projector that lost its leadership.
 */
export async function advanceCheckpoint(
  tx: pg.ClientBase,
  name: string,
  expected: Checkpoint,
  next: Checkpoint,
): Promise<void> {
  const { rowCount } = await tx.query(
    `update projection_checkpoints
        set transaction_id = $4::xid8, global_position = $5, updated_at = now(),
            failure_message = null, failure_event_id = null, failure_at = null, failure_count = 0
      where name = $1 and transaction_id = $2::xid8 and global_position = $3`,
    [name, expected.transactionId, expected.globalPosition, next.transactionId, next.globalPosition],
  );
  if (rowCount !== 1) throw new StaleCheckpointError(name);
}

/** Best effort, outside the failed batch's (rolled-back) transaction: where and why a projection is stuck. */
export async function recordProjectionFailure(
  db: pg.Pool | pg.ClientBase,
  failure: ProjectionApplyError,
): Promise<void> {
  await db.query(
    `update projection_checkpoints
        set failure_message = $2, failure_event_id = $3, failure_at = now(), failure_count = failure_count + 1
      where name = $1`,
    [failure.projection, failure.message.slice(0, 2000), failure.event.eventId],
  );
}
