import type pg from 'pg';
import type { Checkpoint, StoredEvent } from '../../infra/eventStore/eventStore';
import { inTransaction, isConnectionError, isPgError } from '../../infra/postgres/pool';
import type { Projection } from '../projection';
import {
  type Fence,
  ProjectionApplyError,
  advanceCheckpoint,
  compareCheckpoints,
  failureOf,
  positionOf,
} from './checkpoints';
import { type ParkedEvent, parkEvents } from './deadLetters';

export type { Fence };

/** Where a batch goes: a projection's live tables and checkpoint, or a rebuild's copies and its checkpoint. */
export interface ApplyTarget {
  projection: Projection;
  checkpointName: string;
  /** search_path while applying (a rebuild's schema first); undefined = the connection's own. */
  searchPath?: string;
}

export interface BatchOutcome {
  /** Where the checkpoint is now. */
  checkpoint: Checkpoint;
  applied: number;
  parked: number;
  /**
   * Set when the batch stopped at an event that may not be parked: everything before it is committed, the
   * checkpoint is just before it and its row carries the failure.
   */
  stoppedBy: ProjectionApplyError | null;
}

export interface ApplyOptions {
  fence?: Fence;
  /**
   * After repeated failures: apply under savepoints, halving the failing range until the failing event is
   * alone, park it if the projection may park it, and commit everything else (Marten's "skip to dead
   * letter"). A batch that fails only as a whole (too large together) simply succeeds in halves.
   */
  isolate?: boolean;
}

/**
 * Whether a failure is about the events — their data cannot be stored (PostgreSQL's data exceptions,
 * constraint violations, program limits: SQLSTATE classes 22, 23, 54) or the projection's code threw on
 * them — rather than about the environment (a lost connection, a deadlock, a timeout, a missing table, a
 * permission, a full disk). Only the former are isolated and may be parked; the latter are retried as
 * they are, for as long as they last, and nothing is parked for them.
 */
export function isEventFailure(err: unknown): boolean {
  if (isConnectionError(err)) return false;
  if (!isPgError(err)) return true;
  return /^(22|23|54)/.test(err.code);
}

/** One batch of one projection in ONE transaction (see applyBatchIn). */
export function applyBatch(
  pool: pg.Pool,
  target: ApplyTarget,
  expected: Checkpoint,
  events: readonly StoredEvent[],
  batchEnd: Checkpoint,
  options: ApplyOptions = {},
): Promise<BatchOutcome> {
  return inTransaction(pool, (tx) => applyBatchIn(tx, target, expected, events, batchEnd, options));
}

/**
 * Applies the events a projection handles past `expected`, moves its checkpoint to `batchEnd` by
 * compare-and-set, and — with a fence — checks the leader's lock is still held before commit. The caller's
 * transaction rolls back on any error: a stale checkpoint (someone else applied it), a lost lock, or a
 * projection failure (a ProjectionApplyError when it is about the events, see isEventFailure).
 */
export async function applyBatchIn(
  tx: pg.ClientBase,
  target: ApplyTarget,
  expected: Checkpoint,
  events: readonly StoredEvent[],
  batchEnd: Checkpoint,
  { fence, isolate = false }: ApplyOptions = {},
): Promise<BatchOutcome> {
  const { projection, checkpointName } = target;
  if (target.searchPath) await tx.query(`set local search_path to ${target.searchPath}`);
  const relevant = events.filter(
    (e) => projection.handles.includes(e.type) && compareCheckpoints(positionOf(e), expected) > 0,
  );
  let outcome: BatchOutcome;
  if (!isolate) {
    if (relevant.length > 0) {
      await projection.apply(tx, relevant).catch((err: unknown) => {
        if (!isEventFailure(err)) throw err;
        throw new ProjectionApplyError(projection.name, relevant[0]!, relevant.length, err);
      });
    }
    await advanceCheckpoint(tx, checkpointName, expected, batchEnd, null, fence);
    outcome = { checkpoint: batchEnd, applied: relevant.length, parked: 0, stoppedBy: null };
  } else {
    const isolated = await applyIsolating(tx, projection, relevant);
    await parkEvents(tx, projection.name, isolated.parked);
    if (isolated.stop) {
      const { index, cause } = isolated.stop;
      const stoppedBy = new ProjectionApplyError(projection.name, relevant[index]!, 1, cause, true);
      const checkpoint = index === 0 ? expected : positionOf(relevant[index - 1]!);
      await advanceCheckpoint(tx, checkpointName, expected, checkpoint, failureOf(stoppedBy), fence);
      outcome = { checkpoint, applied: isolated.applied, parked: isolated.parked.length, stoppedBy };
    } else {
      await advanceCheckpoint(tx, checkpointName, expected, batchEnd, null, fence);
      outcome = {
        checkpoint: batchEnd,
        applied: isolated.applied,
        parked: isolated.parked.length,
        stoppedBy: null,
      };
    }
  }
  // With a fence, the checkpoint's move checked the leader's lock in the same statement, just before commit.
  return outcome;
}

interface Isolated {
  applied: number;
  parked: ParkedEvent[];
  /** The first event that failed alone and may not be parked; nothing after it was applied. */
  stop: { index: number; cause: unknown } | null;
}

/** Bisection under savepoints, in order: a range that fails is halved until the failing event is alone. */
async function applyIsolating(
  tx: pg.ClientBase,
  projection: Projection,
  events: readonly StoredEvent[],
): Promise<Isolated> {
  const result: Isolated = { applied: 0, parked: [], stop: null };
  const attempt = async (lo: number, hi: number): Promise<boolean> => {
    await tx.query('savepoint costsim_isolate');
    try {
      await projection.apply(tx, events.slice(lo, hi));
      await tx.query('release savepoint costsim_isolate');
      result.applied += hi - lo;
      return true;
    } catch (err) {
      if (isConnectionError(err)) throw err;
      await tx.query('rollback to savepoint costsim_isolate');
      await tx.query('release savepoint costsim_isolate');
      if (!isEventFailure(err)) throw err;
      if (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        return (await attempt(lo, mid)) && attempt(mid, hi);
      }
      if (projection.mayPark(events[lo]!)) {
        result.parked.push({ event: events[lo]!, error: err });
        return true;
      }
      result.stop = { index: lo, cause: err };
      return false;
    }
  };
  if (events.length > 0) await attempt(0, events.length);
  return result;
}
