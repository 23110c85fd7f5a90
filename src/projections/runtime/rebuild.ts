import type pg from 'pg';
import type { Logger } from 'pino';
import { type Checkpoint, type EventStore, START, type StoredEvent } from '../../infra/eventStore/eventStore';
import { LockIds } from '../../infra/postgres/lockIds';
import { inTransaction } from '../../infra/postgres/pool';
import type { Projection } from '../projection';
import { ProjectionApplyError, compareCheckpoints, ensureCheckpoints, loadCheckpoint } from './checkpoints';
import {
  type ApplyTarget,
  type BatchOutcome,
  applyBatch,
  applyBatchIn,
  isEventFailure,
} from './projectionApplier';
import { DEFAULT_BATCH_MAX_BYTES } from './projector';
import {
  type RebuildLayout,
  analyzeCopies,
  createTableCopies,
  dropRebuildLeftovers,
  liveTables,
  rebuildLayout,
  swapTablesIn,
} from './rebuildTables';

export interface RebuildProgress {
  /** Events of the types the projection handles, applied (or parked) so far. */
  processed: number;
  total: number;
}

export interface RebuildOptions {
  batchSize?: number;
  batchMaxBytes?: number;
  onProgress?: (p: RebuildProgress) => void;
  /** How long the swap may wait for a lock, or for events writers committed to become readable. */
  swapWaitMs?: number;
  /** Swap attempts (each after catching up again) before the rebuild gives up, leaving the live tables. */
  swapAttempts?: number;
  logger?: Logger;
}

export class RebuildBusyError extends Error {
  constructor(readonly projection: string) {
    super(`a rebuild of ${projection} is already running (lock ${LockIds.projectionRebuild}/${projection})`);
    this.name = 'RebuildBusyError';
  }
}

export class RebuildFailedError extends Error {
  constructor(
    readonly projection: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(`rebuild of ${projection} failed, the live tables are unchanged: ${message}`);
    this.name = 'RebuildFailedError';
  }
}

const MAX_SWAP_BATCHES = 20;

/** The swap could not happen this time (lock timeout, writers' events not readable yet): try again. */
class SwapNotReady extends Error {}

/**
 * Blue/green rebuild (docs/projections.md, "Rebuilding a projection"): replays every event the projection
 * handles into empty copies of its tables in a schema of its own while the live tables keep serving and
 * the projector keeps advancing them; once the copies have caught up, ONE transaction blocks writers,
 * applies the last events, moves the copies in place of the live tables and the live checkpoint with
 * them. Readers see the old complete tables, then the new complete ones — never a partial table.
 *
 * Safe on a running service and from several operators: one rebuild per projection at a time (advisory
 * lock 7012/name, held by this session, so a rebuild killed with SIGKILL frees it); a killed rebuild leaves
 * only its copies, which the next rebuild drops before it starts again.
 */
export async function rebuildProjection(
  pool: pg.Pool,
  store: EventStore,
  projection: Projection,
  options: RebuildOptions = {},
): Promise<RebuildProgress> {
  const session = await pool.connect();
  let broken: Error | undefined;
  session.on('error', (err) => (broken = err));
  try {
    const { rows } = await session.query<{ locked: boolean }>(
      'select pg_try_advisory_lock($1, hashtext($2)) as locked',
      [LockIds.projectionRebuild, projection.name],
    );
    if (!rows[0]?.locked) throw new RebuildBusyError(projection.name);
    try {
      return await rebuildLocked(pool, store, projection, options);
    } finally {
      await session
        .query('select pg_advisory_unlock($1, hashtext($2))', [LockIds.projectionRebuild, projection.name])
        .catch(() => {});
    }
  } finally {
    session.release(broken ?? true);
  }
}

async function rebuildLocked(
  pool: pg.Pool,
  store: EventStore,
  projection: Projection,
  options: RebuildOptions,
): Promise<RebuildProgress> {
  const layout = await rebuildLayout(pool, projection);
  const { rows } = await pool.query<{ at: Date; total: string }>(
    'select now() as at, (select count(*) from es_events where event_type = any($1)) as total',
    [projection.handles],
  );
  const startedAt = rows[0]!.at;
  const progress: RebuildProgress = { processed: 0, total: Number(rows[0]!.total) };
  await ensureCheckpoints(pool, [projection]);
  await inTransaction(pool, async (tx) => {
    await dropRebuildLeftovers(tx, layout);
    await createTableCopies(tx, layout);
    await ensureCheckpoints(tx, [{ name: layout.checkpointName, handles: projection.handles }]);
  });
  options.logger?.info({ projection: projection.name }, 'rebuild: replaying into copies');

  const target: ApplyTarget = {
    projection,
    checkpointName: layout.checkpointName,
    searchPath: layout.searchPath,
  };
  const limit = options.batchSize ?? 1000;
  const read = (after: Checkpoint) =>
    store.readAll({
      after,
      limit,
      types: projection.handles,
      maxBytes: options.batchMaxBytes ?? DEFAULT_BATCH_MAX_BYTES,
    });
  const advance = (n: number) => {
    progress.processed += n;
    progress.total = Math.max(progress.total, progress.processed);
    options.onProgress?.({ ...progress });
  };

  let expected = START;
  let cursor = START;
  let analyzed = false;
  for (let attempt = 1; ;) {
    const page = await read(cursor);
    if (page.events.length > 0) {
      const outcome = await applyRebuildBatch(pool, target, expected, page.events, page.checkpoint);
      expected = cursor = outcome.checkpoint;
      advance(outcome.applied + outcome.parked);
      // Writers never stop on a live service: near the head is caught up enough, the swap applies the rest.
      if (page.events.length >= limit || (await pendingAfter(pool, projection, cursor, limit)) >= limit)
        continue;
    } else if (compareCheckpoints(page.checkpoint, cursor) > 0) {
      cursor = page.checkpoint;
      continue;
    }
    if (!analyzed) {
      await analyzeCopies(pool, layout);
      analyzed = true;
    }
    try {
      const applied = await swap(
        pool,
        store,
        layout,
        target,
        cursor,
        startedAt,
        read,
        options.swapWaitMs ?? 2000,
      );
      advance(applied);
      options.logger?.info({ projection: projection.name, ...progress }, 'rebuild: swapped in');
      return progress;
    } catch (err) {
      if (!(err instanceof SwapNotReady) && isEventFailure(err)) throw err;
      if (attempt++ >= (options.swapAttempts ?? 30)) {
        throw new RebuildFailedError(
          projection.name,
          `could not swap the tables in: ${(err as Error).message}`,
          err,
        );
      }
      options.logger?.warn(
        { projection: projection.name, err },
        'rebuild: swap not possible yet, catching up again',
      );
      expected = cursor = await loadCheckpoint(pool, layout.checkpointName);
      await new Promise((r) => setTimeout(r, 100 * Math.min(attempt, 10)));
    }
  }
}

/** Events of the projection's types committed past `after`, counted up to `cap`. */
async function pendingAfter(pool: pg.Pool, projection: Projection, after: Checkpoint, cap: number) {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from (
       select 1 from es_events where (transaction_id, global_position) > ($1::xid8, $2::bigint)
          and event_type = any($3) limit $4) pending`,
    [after.transactionId, after.globalPosition, projection.handles, cap],
  );
  return rows[0]?.n ?? 0;
}

/** A failing batch is isolated at once (no one waits on a rebuild); an event that may not be parked ends it. */
async function applyRebuildBatch(
  pool: pg.Pool,
  target: ApplyTarget,
  expected: Checkpoint,
  events: readonly StoredEvent[],
  batchEnd: Checkpoint,
): Promise<BatchOutcome> {
  for (let transient = 0; ; transient++) {
    try {
      const outcome = await applyBatch(pool, target, expected, events, batchEnd).catch((err: unknown) => {
        if (err instanceof ProjectionApplyError)
          return applyBatch(pool, target, expected, events, batchEnd, { isolate: true });
        throw err;
      });
      if (outcome.stoppedBy)
        throw new RebuildFailedError(target.projection.name, outcome.stoppedBy.message, outcome.stoppedBy);
      return outcome;
    } catch (err) {
      if (isEventFailure(err) || transient >= 10) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** Math.min(transient, 5)));
    }
  }
}

/**
 * The swap transaction. Writers are blocked (EXCLUSIVE: readers go on) and the live checkpoint is locked,
 * so the live lane cannot commit in between; for tables written outside the projector it first waits
 * until every event committed before the lock is readable (their effects are in the live tables, so the
 * copies must hold them too). Then it applies the remaining events to the copies, carries over what is
 * not an event (leases), swaps, and moves the live checkpoint to where the copies are. Returns the number
 * of events applied in it.
 */
async function swap(
  pool: pg.Pool,
  store: EventStore,
  layout: RebuildLayout,
  target: ApplyTarget,
  from: Checkpoint,
  startedAt: Date,
  read: (after: Checkpoint) => ReturnType<EventStore['readAll']>,
  waitMs: number,
): Promise<number> {
  const { projection } = layout;
  return inTransaction(pool, async (tx) => {
    await tx.query(`set local lock_timeout = ${Math.max(1, Math.round(waitMs))}`);
    await tx.query(`lock table ${liveTables(layout)} in exclusive mode`);
    if (projection.writtenOutsideProjector) await waitUntilCommittedReadable(tx, projection, waitMs);
    const live = await lockedCheckpoint(tx, projection.name);
    let expected = await lockedCheckpoint(tx, layout.checkpointName);
    let cursor = compareCheckpoints(from, expected) > 0 ? from : expected;
    let applied = 0;
    for (let batches = 0; ; batches++) {
      // Locks are held: a rebuild that is far behind catches up outside, not here.
      if (batches >= MAX_SWAP_BATCHES) throw new SwapNotReady('too far behind the head to swap now');
      const page = await read(cursor);
      if (page.events.length > 0) {
        const outcome = await applyBatchIn(tx, target, expected, page.events, page.checkpoint, {
          isolate: true,
        });
        if (outcome.stoppedBy)
          throw new RebuildFailedError(projection.name, outcome.stoppedBy.message, outcome.stoppedBy);
        expected = cursor = outcome.checkpoint;
        applied += outcome.applied + outcome.parked;
      } else if (compareCheckpoints(page.checkpoint, cursor) > 0) {
        cursor = page.checkpoint;
      } else break;
    }
    // The copies hold every event the projection handles up to the readable head, which the live
    // checkpoint cannot be past: nothing is lost or applied twice from here on.
    const final = compareCheckpoints(cursor, live) >= 0 ? cursor : live;
    await projection.carryOver?.(tx, { live: layout.live, rebuilt: layout.rebuilt });
    await swapTablesIn(tx, layout);
    await tx.query(
      `update projection_checkpoints
          set transaction_id = $2::xid8, global_position = $3, updated_at = now(),
              failure_message = null, failure_event_id = null, failure_at = null, failure_count = 0
        where name = $1`,
      [projection.name, final.transactionId, final.globalPosition],
    );
    await tx.query('delete from projection_checkpoints where name = $1', [layout.checkpointName]);
    // A dead letter the rebuild did not fail on again was applied to the new tables.
    await tx.query(
      `update projection_dead_letters
          set status = 'retried', resolved_at = now(), resolved_by = 'rebuild', resolution_note = 'applied by a rebuild'
        where projection = $1 and status = 'parked' and last_failed_at < $2
          and (transaction_id, global_position) <= ($3::xid8, $4::bigint)`,
      [projection.name, startedAt, final.transactionId, final.globalPosition],
    );
    if (projection.changeChannel)
      await tx.query('select pg_notify($1, $2)', [projection.changeChannel, 'rebuilt']);
    return applied;
  });
}

async function lockedCheckpoint(tx: pg.ClientBase, name: string): Promise<Checkpoint> {
  const { rows } = await tx.query<{ transaction_id: string; global_position: string }>(
    'select transaction_id::text, global_position from projection_checkpoints where name = $1 for update',
    [name],
  );
  const row = rows[0];
  if (!row) throw new SwapNotReady(`checkpoint ${name} is missing`);
  return { transactionId: row.transaction_id, globalPosition: Number(row.global_position) };
}

/**
 * Events are readable once every older transaction has ended (snapshot xmin). Waits until that is true of
 * every committed event this projection handles; gives up after `waitMs` (the swap is then retried).
 */
async function waitUntilCommittedReadable(tx: pg.ClientBase, projection: Projection, waitMs: number) {
  const { rows } = await tx.query<{ newest: string | null }>(
    `select max(transaction_id)::text as newest from es_events
      where transaction_id >= pg_snapshot_xmin(pg_current_snapshot()) and event_type = any($1)`,
    [projection.handles],
  );
  const newest = rows[0]?.newest;
  if (!newest) return;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { rows: horizon } = await tx.query<{ readable: boolean }>(
      'select pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 as readable',
      [newest],
    );
    if (horizon[0]?.readable) return;
    if (Date.now() > deadline) throw new SwapNotReady('events committed by writers are not readable yet');
    await new Promise((r) => setTimeout(r, 5));
  }
}
