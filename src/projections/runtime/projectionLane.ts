import type pg from 'pg';
import type { Logger } from 'pino';
import type { Checkpoint, EventStore } from '../../infra/eventStore/eventStore';
import { isConnectionError } from '../../infra/postgres/pool';
import type { Projection } from '../projection';
import {
  type EventRef,
  LeadershipLostError,
  ProjectionApplyError,
  StaleCheckpointError,
  advanceCheckpoint,
  compareCheckpoints,
  ensureCheckpoints,
  errorText,
  failureOf,
  loadCheckpoint,
  recordProjectionFailure,
} from './checkpoints';
import { type ApplyOptions, type BatchOutcome, type Fence, applyBatch } from './projectionApplier';
import { type BatchWindow, nextBatchWindowMs } from './batchWindow';
import { type RangeReader, applyPositions, rangeReaderFor } from './rangeApplier';

export interface RetryPolicy {
  /** Failed attempts at a batch before the failing event is isolated (and parked, if it may be). */
  attempts: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 200, maxBackoffMs: 10_000 };

export interface LaneObserver {
  onBatch?(projection: string, applied: number): void;
  /** A batch failed: rolled back (or stopped at the failing event) and retried after a back-off. */
  onFailure?(projection: string): void;
  /** Events were parked as dead letters. */
  onParked?(projection: string, count: number): void;
}

export interface LaneOptions {
  pool: pg.Pool;
  store: EventStore;
  projection: Projection;
  batchSize: number;
  /**
   * Events per batch of a projection that applies ranges in SQL (its payloads never reach the lane, so
   * `batchMaxBytes` is what bounds it); batchSize when unset.
   */
  rangeBatchSize?: number;
  batchMaxBytes: number;
  pollMs: number;
  /** Back-to-back batches start at least this far apart unless the last one was full (see batchWindow.ts). */
  batchWindow: BatchWindow;
  retry: RetryPolicy;
  logger?: Logger;
  observer?: LaneObserver;
}

/** One read of a lane: whole events, or positions for a projection that applies ranges in SQL. */
interface Page {
  /** Events of the projection's types in it. */
  size: number;
  first: EventRef | undefined;
  checkpoint: Checkpoint;
  /** Cut by the batch size or bytes: more is readable now, so the next page is read while this applies. */
  full: boolean;
  apply(expected: Checkpoint, options: ApplyOptions): Promise<BatchOutcome>;
}

/** Skipped events only move the stored checkpoint this often (lag is then counted from near the head). */
const IDLE_CHECKPOINT_MS = 1000;

/**
 * One projection's lane: it reads only the event types its projection handles, applies each batch in its
 * own transaction with its own checkpoint, and handles its own failures — so a failing or slow projection
 * never delays another (docs/projections.md). A batch that fails is retried with exponential back-off;
 * after `retry.attempts` failures it is applied in isolation: the failing event is parked as a dead letter
 * if the projection may park it, and otherwise the projection stops just before it, retrying for ever,
 * with the failure on its checkpoint row.
 */
export class ProjectionLane {
  private woken = false;
  private wake: (() => void) | null = null;

  private readonly ranges: RangeReader | null;

  constructor(private readonly options: LaneOptions) {
    this.ranges = rangeReaderFor(options.store, options.projection);
  }

  get name(): string {
    return this.options.projection.name;
  }

  /** Whether any of `types` is one this lane reads. */
  reads(types: readonly string[]): boolean {
    const handles = this.options.projection.handles;
    return types.some((t) => handles.includes(t));
  }

  /** New events may be readable (LISTEN/NOTIFY): read now instead of at the next poll. */
  notify(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Runs until `signal` aborts; the batch in flight finishes (or rolls back) first. Never throws. */
  async run(signal: AbortSignal, fence?: Fence): Promise<void> {
    const { pool, projection, retry } = this.options;
    let failures = 0; // about the events: counted towards isolating the failing one
    let environmentFailures = 0; // about the database or the deployment: only retried
    let pending: EventRef | undefined;
    let expected: Checkpoint | null = null;
    let cursor: Checkpoint | null = null;
    let idleSince = 0;
    let windowMs = this.options.batchWindow.minMs;
    // The next page, read while the current batch applies (its own connection): reads and applies overlap.
    let prefetched: Promise<Page> | null = null;
    const discardPrefetch = () => {
      prefetched?.catch(() => {});
      prefetched = null;
    };
    while (!signal.aborted) {
      try {
        if (!expected || !cursor) {
          discardPrefetch();
          await ensureCheckpoints(pool, [projection]);
          expected = cursor = await loadCheckpoint(pool, projection.name);
        }
        pending = undefined;
        let page: Page;
        if (prefetched) {
          page = await prefetched;
          prefetched = null;
        } else {
          this.woken = false;
          page = await this.read(cursor);
        }
        windowMs = nextBatchWindowMs(windowMs, page, this.options.batchWindow);
        if (page.size === 0) {
          const advanced = compareCheckpoints(page.checkpoint, cursor) > 0;
          cursor = page.checkpoint;
          // Only skipped events: the stored checkpoint follows now and then, and when caught up.
          const behind = compareCheckpoints(cursor, expected) > 0;
          if (behind && (!advanced || performance.now() - idleSince >= IDLE_CHECKPOINT_MS)) {
            await advanceCheckpoint(pool, projection.name, expected, cursor);
            expected = cursor;
            idleSince = performance.now();
          }
          // Caught up either way: the read went up to the horizon and found nothing of this lane's
          // types. Read again when woken (by a commit of its types, or the head moving) — not at once,
          // which under a flood of other types' commits was a read per round trip for every such lane.
          await this.pause(this.options.pollMs, signal);
          continue;
        }
        const startedAt = performance.now();
        pending = page.first;
        const applying = page.apply(expected, {
          ...(fence ? { fence } : {}),
          isolate: failures >= retry.attempts,
        });
        if (page.full) {
          this.woken = false;
          prefetched = this.read(page.checkpoint);
        }
        const outcome = await applying;
        expected = outcome.checkpoint;
        idleSince = performance.now();
        this.report(outcome);
        if (outcome.stoppedBy) {
          discardPrefetch();
          cursor = expected;
          failures++;
          this.reportFailure(outcome.stoppedBy, failures);
          await this.pause(this.backoff(failures), signal, false);
          continue;
        }
        failures = environmentFailures = 0;
        cursor = page.checkpoint;
        const wait = page.full ? 0 : windowMs - (performance.now() - startedAt);
        if (wait > 0) await this.pause(wait, signal, false);
      } catch (err) {
        // Reloaded on the next turn: another projector (or a rebuild's swap) moved the checkpoint.
        discardPrefetch();
        cursor = expected = null;
        if (err instanceof LeadershipLostError) {
          // The elector aborts `signal` as soon as it sees the lock gone; until then nothing commits.
          await this.pause(this.options.retry.backoffMs, signal, false);
          continue;
        }
        if (err instanceof StaleCheckpointError) {
          this.options.logger?.warn(
            { projection: projection.name },
            'projector: stale checkpoint, reloading',
          );
          continue;
        }
        if (err instanceof ProjectionApplyError) {
          failures++;
          this.reportFailure(err, failures);
          await recordProjectionFailure(pool, projection.name, failureOf(err)).catch((e: unknown) =>
            this.options.logger?.warn({ err: e }, 'projector: could not record the failure'),
          );
        } else {
          environmentFailures++;
          this.options.logger?.warn(
            { err, projection: projection.name, attempt: environmentFailures },
            'projector: batch failed (not because of its events), retrying',
          );
          if (!isConnectionError(err) && pending) {
            // Stuck all the same while it lasts (a missing table, a permission, a full disk).
            this.options.observer?.onFailure?.(projection.name);
            const message = `projection ${projection.name} cannot apply its next batch: ${errorText(err)}`;
            await recordProjectionFailure(pool, projection.name, {
              message: message.slice(0, 2000),
              eventId: pending.eventId,
            }).catch(() => {});
          }
        }
        await this.pause(this.backoff(Math.max(failures, environmentFailures, 1)), signal, false);
      }
    }
    // Stopped with the next page being read: let the read end before the pool can be closed under it.
    await (prefetched as Promise<Page> | null)?.catch(() => undefined);
  }

  private async read(after: Checkpoint): Promise<Page> {
    const { pool, store, projection, batchSize, batchMaxBytes } = this.options;
    const target = { projection, checkpointName: projection.name };
    if (this.ranges) {
      const ranges = this.ranges;
      // Positions and sizes only: the payloads go from the event rows to the tables inside the database.
      const page = await ranges.readPositions({
        after,
        limit: this.options.rangeBatchSize ?? batchSize,
        types: projection.handles,
        maxBytes: batchMaxBytes,
      });
      return {
        size: page.events.length,
        first: page.events[0],
        checkpoint: page.checkpoint,
        full: page.full,
        apply: (expected, options) =>
          applyPositions(pool, target, expected, page.events, page.checkpoint, ranges.readRange, options),
      };
    }
    const page = await store.readAll({
      after,
      limit: batchSize,
      types: projection.handles,
      maxBytes: batchMaxBytes,
    });
    return {
      size: page.events.length,
      first: page.events[0],
      checkpoint: page.checkpoint,
      full: page.events.length >= batchSize,
      apply: (expected, options) => applyBatch(pool, target, expected, page.events, page.checkpoint, options),
    };
  }

  private backoff(failures: number): number {
    const { backoffMs, maxBackoffMs } = this.options.retry;
    return Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(failures - 1, 30));
  }

  private report(outcome: BatchOutcome): void {
    const { observer, projection, logger } = this.options;
    observer?.onBatch?.(projection.name, outcome.applied);
    if (outcome.parked > 0) {
      observer?.onParked?.(projection.name, outcome.parked);
      logger?.error(
        { projection: projection.name, parked: outcome.parked },
        'projector: events that keep failing were parked as dead letters (costsim-guard projections dead-letters list)',
      );
    }
  }

  private reportFailure(failure: ProjectionApplyError, attempt: number): void {
    this.options.observer?.onFailure?.(failure.projection);
    this.options.logger?.error(
      {
        projection: failure.projection,
        event_id: failure.event.eventId,
        stream: failure.event.streamName,
        stream_version: failure.event.streamVersion,
        event_type: failure.event.type,
        attempt,
        err: failure.cause,
      },
      failure.isolated
        ? 'projector: a projection cannot apply this event (never parked); retrying'
        : 'projector: a projection failed; the batch rolled back and will be retried',
    );
  }

  /** Waits `ms`, or less when woken by new events (`wakeable`) or stopped. */
  private pause(ms: number, signal: AbortSignal, wakeable = true): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted || (wakeable && this.woken)) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wake === done) this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.wake = done;
    });
  }
}
