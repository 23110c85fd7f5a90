import type pg from 'pg';
import type { Logger } from 'pino';
import type { Checkpoint, EventStore } from '../../infra/eventStore/eventStore';
import { type Leadership, LeaderElector } from '../../infra/postgres/leaderElector';
import type { Projection } from '../projection';
import {
  ProjectionApplyError,
  StaleCheckpointError,
  ensureCheckpoints,
  loadCheckpoints,
  minCheckpoint,
  recordProjectionFailure,
} from './checkpoints';
import { applyBatch } from './projectionApplier';

export interface ProjectorObserver {
  onBatch?(projection: string, applied: number): void;
  /** A projection could not apply a batch: it rolled back and will be retried (never skipped). */
  onFailure?(projection: string): void;
  onLeadership?(isLeader: boolean): void;
}

export interface ProjectorOptions {
  pool: pg.Pool;
  store: EventStore;
  connectionString: string;
  projections: readonly Projection[];
  lockId: number;
  batchSize?: number;
  pollMs?: number;
  /**
   * Back-to-back batches start at least this far apart (unless the last one was full). Under a stream of
   * small commits this gathers them into fewer, larger transactions: a batch costs ~10 round trips
   * whatever its size. The first batch after a quiet spell is read at once, so an isolated command is
   * projected without this delay.
   */
  batchWindowMs?: number;
  /** How often a standby retries leadership. */
  retryMs?: number;
  logger?: Logger;
  observer?: ProjectorObserver;
}

/**
 * Runs a projection set on the one instance holding the projector lock; every other instance is a standby.
 * Reads from the lowest checkpoint of the set and applies batch by batch (each batch + checkpoints in one
 * transaction). Losing the lock aborts at once; a stale checkpoint (someone else applied) reloads and
 * resumes from the stored checkpoints.
 */
export class Projector {
  private readonly elector: LeaderElector;
  private readonly names: string[];

  constructor(private readonly options: ProjectorOptions) {
    this.names = options.projections.map((p) => p.name);
    this.elector = new LeaderElector(options.connectionString, options.lockId, 'projector', {
      retryMs: options.retryMs ?? 1000,
      onChange: (leader) => {
        options.observer?.onLeadership?.(leader);
        options.logger?.info({ leader }, leader ? 'projector: leading' : 'projector: standing by');
      },
      onError: (err) => options.logger?.warn({ err }, 'projector: error'),
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.elector.start((leadership) => this.lead(leadership));
  }

  /** Graceful: the batch in flight finishes (or rolls back), then the lock is released. */
  stop(): Promise<void> {
    return this.elector.stop();
  }

  private reportFailure(failure: ProjectionApplyError): void {
    this.options.observer?.onFailure?.(failure.projection);
    this.options.logger?.error(
      {
        projection: failure.projection,
        event_id: failure.event.eventId,
        stream: failure.event.streamName,
        stream_version: failure.event.streamVersion,
        event_type: failure.event.type,
        err: failure.cause,
      },
      'projector: a projection failed; the batch rolled back and will be retried',
    );
    recordProjectionFailure(this.options.pool, failure).catch((err: unknown) =>
      this.options.logger?.warn({ err }, 'projector: could not record the failure'),
    );
  }

  private async lead(leadership: Leadership): Promise<void> {
    const { pool } = this.options;
    await ensureCheckpoints(pool, this.names);
    while (!leadership.signal.aborted) {
      try {
        await this.follow(leadership, await loadCheckpoints(pool, this.names));
      } catch (err) {
        if (err instanceof StaleCheckpointError) {
          this.options.logger?.warn({ projection: err.projection }, 'projector: stale checkpoint, reloading');
          continue;
        }
        throw err;
      }
    }
  }

  private follow(leadership: Leadership, checkpoints: Map<string, Checkpoint>) {
    const { pool, store, projections } = this.options;
    return new Promise<void>((resolve, reject) => {
      // Leadership may have been lost while checkpoints were loading: an aborted signal never fires again.
      if (leadership.signal.aborted) return resolve();
      let inFlight: Promise<void> = Promise.resolve();
      const subscription = store
        .subscribe({
          after: minCheckpoint(checkpoints.values()),
          limit: this.options.batchSize ?? 500,
          pollIntervalMs: this.options.pollMs ?? 250,
          ack: 'manual',
        })
        .subscribe({
          next: (batch) => {
            const startedAt = performance.now();
            inFlight = applyBatch(pool, projections, checkpoints, batch.events, batch.checkpoint, {
              pid: leadership.pid,
              lockId: leadership.lockId,
            }).then(
              (result) => {
                for (const [name, checkpoint] of result.checkpoints) checkpoints.set(name, checkpoint);
                for (const [name, n] of result.applied) this.options.observer?.onBatch?.(name, n);
                const full = batch.events.length >= (this.options.batchSize ?? 500);
                const wait = full ? 0 : (this.options.batchWindowMs ?? 0) - (performance.now() - startedAt);
                if (wait > 0) setTimeout(() => batch.ack(), wait);
                else batch.ack();
              },
              (err: unknown) => {
                if (err instanceof ProjectionApplyError) this.reportFailure(err);
                subscription.unsubscribe();
                leadership.signal.removeEventListener('abort', onAbort);
                if (leadership.signal.aborted) resolve();
                else reject(err);
              },
            );
          },
          error: (err: unknown) => {
            leadership.signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        });
      const onAbort = () => {
        subscription.unsubscribe();
        // Finish (or fail) the batch in flight before giving the lock back.
        inFlight.then(resolve, resolve);
      };
      leadership.signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
