import type pg from 'pg';
import { inTransaction } from '../../infra/postgres/pool';
import { type EventStore, START } from '../../infra/eventStore/eventStore';
import type { Projection } from '../projection';
import { StaleCheckpointError, ensureCheckpoints, loadCheckpoints } from './checkpoints';
import { applyBatch } from './projectionApplier';

export interface RebuildProgress {
  processed: number;
  total: number;
}

/**
 * Drops a projection's rows and checkpoint in one transaction, then replays every event. Safe while a
 * projector runs: both advance the checkpoint by compare-and-set, so whichever applies a batch first wins
 * and the other resumes from the stored checkpoint — nothing is applied twice.
 */
export async function rebuildProjection(
  pool: pg.Pool,
  store: EventStore,
  projection: Projection,
  options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {},
): Promise<RebuildProgress> {
  await ensureCheckpoints(pool, [projection.name]);
  await inTransaction(pool, async (client) => {
    await projection.reset(client);
    await client.query(
      `update projection_checkpoints set transaction_id = '0', global_position = 0, updated_at = now() where name = $1`,
      [projection.name],
    );
  });

  const { rows } = await pool.query<{ n: string }>('select count(*) as n from es_events');
  const progress: RebuildProgress = { processed: 0, total: Number(rows[0]?.n ?? 0) };
  let cursor = START;
  for (;;) {
    const { events, checkpoint } = await store.readAll({ after: cursor, limit: options.batchSize ?? 1000 });
    if (checkpoint === cursor) break;
    const expected = await loadCheckpoints(pool, [projection.name]);
    try {
      await applyBatch(pool, [projection], expected, events, checkpoint);
    } catch (err) {
      // A running projector applied this range first: its checkpoint is ahead, which is fine.
      if (!(err instanceof StaleCheckpointError)) throw err;
    }
    cursor = checkpoint;
    progress.processed += events.length;
    progress.total = Math.max(progress.total, progress.processed);
    options.onProgress?.({ ...progress });
  }
  return progress;
}
