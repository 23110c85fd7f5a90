import type pg from 'pg';
import type { Checkpoint, StoredEvent } from '../../infra/eventStore/eventStore';
import { advisoryLockHeldSql } from '../../infra/postgres/leaderElector';
import { inTransaction, isConnectionError } from '../../infra/postgres/pool';
import type { Projection } from '../projection';
import {
  LeadershipLostError,
  ProjectionApplyError,
  advanceCheckpoint,
  compareCheckpoints,
} from './checkpoints';

export interface Fence {
  pid: number;
  lockId: number;
}

export interface AppliedBatch {
  applied: Map<string, number>;
  checkpoints: Map<string, Checkpoint>;
}

const fenceSql = `select ${advisoryLockHeldSql.replace(/\$PID/g, '$1').replace(/\$LOCK/g, '$2')} as held`;

/**
 * Applies one batch to a set of projections in ONE transaction: each projection gets the events it handles
 * that lie past its own checkpoint, and each checkpoint moves by compare-and-set. If any CAS fails, or the
 * fence shows the leader's lock is gone, the whole batch rolls back.
 */
export async function applyBatch(
  pool: pg.Pool,
  projections: readonly Projection[],
  expected: ReadonlyMap<string, Checkpoint>,
  events: readonly StoredEvent[],
  batchEnd: Checkpoint,
  fence?: Fence,
): Promise<AppliedBatch> {
  const applied = new Map<string, number>();
  const checkpoints = new Map<string, Checkpoint>();
  await inTransaction(pool, async (client) => {
    for (const projection of projections) {
      const from = expected.get(projection.name);
      if (!from) throw new Error(`no checkpoint loaded for projection ${projection.name}`);
      if (compareCheckpoints(batchEnd, from) <= 0) {
        checkpoints.set(projection.name, from);
        continue;
      }
      const relevant = events.filter(
        (e) =>
          projection.handles.includes(e.type) &&
          compareCheckpoints({ transactionId: e.transactionId, globalPosition: e.globalPosition }, from) > 0,
      );
      if (relevant.length > 0) {
        await projection.apply(client, relevant).catch((err: unknown) => {
          // A lost connection is not the projection's fault: retried like any failed batch, not reported.
          if (isConnectionError(err)) throw err;
          throw new ProjectionApplyError(projection.name, relevant[0]!, relevant.length, err);
        });
      }
      await advanceCheckpoint(client, projection.name, from, batchEnd);
      applied.set(projection.name, relevant.length);
      checkpoints.set(projection.name, batchEnd);
    }
    if (fence) {
      const { rows } = await client.query<{ held: boolean }>(fenceSql, [fence.pid, fence.lockId]);
      if (!rows[0]?.held) throw new LeadershipLostError();
    }
  });
  return { applied, checkpoints };
}
