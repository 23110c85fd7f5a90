import { Observable, Subject, type Subscription } from 'rxjs';
import type { Checkpoint, EventStore, StoredEvent } from './eventStore';

/** Orders two checkpoints as the store does: transaction id (xid8, a 64-bit integer), then position. */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}

const checkpointOf = (e: StoredEvent): Checkpoint => ({
  transactionId: e.transactionId,
  globalPosition: e.globalPosition,
});

export interface EventFeedOptions {
  /** Only these event types (filtered by the store's type index: a flood of others costs nothing). */
  types: readonly string[];
  /** The store's polling fallback when no wake-up arrives. */
  pollIntervalMs?: number;
  /** A failed read; the feed retries from where it was after `retryMs`. */
  onError?: (err: unknown) => void;
  retryMs?: number;
  /** Events read per page when a reader replays from the store. */
  pageSize?: number;
}

/**
 * One commit-ordered subscription to the event store per process, shared by every live reader (the SSE
 * stream's connections): a hundred browsers cost one query per wake-up, not a hundred.
 *
 * `from(checkpoint)` gives a reader every event after that checkpoint, each once, in commit order, then
 * the live ones: what it missed is replayed from the store, then the shared feed takes over. The hand-off
 * leaves no gap — the reader subscribes to the feed before it replays, and the replay reads until it is
 * caught up with a horizon no older than the feed's — and no duplicates: an event is passed on only if
 * its checkpoint is past the last one passed on.
 */
export class EventFeed {
  private readonly live = new Subject<StoredEvent>();
  private subscription: Subscription | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Every event of the feed's types up to here has been emitted (null before start). */
  position: Checkpoint | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly options: EventFeedOptions,
  ) {}

  /** Follows the store from its current head: readers that want older events replay them (`from`). */
  async start(): Promise<void> {
    this.position = await this.store.head();
    this.follow();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.subscription?.unsubscribe();
    this.live.complete();
  }

  private follow(): void {
    if (this.stopped || this.position === null) return;
    this.subscription = this.store
      .subscribe({
        after: this.position,
        types: this.options.types,
        reportProgress: true,
        ...(this.options.pollIntervalMs !== undefined ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
      })
      .subscribe({
        next: (batch) => {
          for (const event of batch.events) this.live.next(event);
          this.position = batch.checkpoint;
        },
        // A read failed (database restart, a timeout): readers just wait; the feed picks up where it was.
        error: (err: unknown) => {
          this.options.onError?.(err);
          this.subscription = null;
          this.retryTimer = setTimeout(() => this.follow(), this.options.retryMs ?? 1000);
          this.retryTimer.unref();
        },
      });
  }

  /**
   * Every event after `after`, each once, in commit order: replayed from the store, then live. `pace`,
   * awaited after each replayed page, lets the consumer hold the replay back (a client's socket), so a
   * long replay is read no faster than it is sent.
   */
  from(after: Checkpoint, pace?: () => Promise<void>): Observable<StoredEvent> {
    const pageSize = this.options.pageSize ?? 500;
    return new Observable<StoredEvent>((subscriber) => {
      let sent = after;
      let replaying = true;
      let stopped = false;
      const buffered: StoredEvent[] = [];
      const deliver = (event: StoredEvent) => {
        const at = checkpointOf(event);
        if (compareCheckpoints(at, sent) <= 0) return;
        sent = at;
        subscriber.next(event);
      };
      // First: nothing the feed emits from now on can be missed.
      const live = this.live.subscribe({
        next: (event) => (replaying ? buffered.push(event) : deliver(event)),
        complete: () => subscriber.complete(),
      });
      void (async () => {
        try {
          let cursor = after;
          // Everything the feed emitted before we subscribed is at or before its position: read from the
          // store only what lies between `after` and there (nothing when the reader is that recent).
          while (!stopped && this.position !== null && compareCheckpoints(sent, this.position) < 0) {
            const page = await this.store.readAll({
              after: cursor,
              limit: pageSize,
              types: this.options.types,
            });
            for (const event of page.events) deliver(event);
            cursor = page.checkpoint;
            if (page.events.length < pageSize) break; // caught up with a horizon at least the feed's
            await pace?.();
          }
          replaying = false;
          for (const event of buffered.splice(0)) deliver(event);
        } catch (err) {
          subscriber.error(err);
        }
      })();
      return () => {
        stopped = true;
        live.unsubscribe();
      };
    });
  }
}
