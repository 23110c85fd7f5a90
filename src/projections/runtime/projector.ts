import type pg from 'pg';
import type { Logger } from 'pino';
import type { Observable } from 'rxjs';
import type { EventStore } from '../../infra/eventStore/eventStore';
import { type Leadership, LeaderElector } from '../../infra/postgres/leaderElector';
import { typesOfWakeup } from '../../infra/postgres/notifications';
import type { Projection } from '../projection';
import { DEFAULT_RETRY, type LaneObserver, ProjectionLane, type RetryPolicy } from './projectionLane';

export interface ProjectorObserver extends LaneObserver {
  onLeadership?(isLeader: boolean): void;
}

export interface ProjectorOptions {
  pool: pg.Pool;
  store: EventStore;
  connectionString: string;
  projections: readonly Projection[];
  lockId: number;
  batchSize?: number;
  /**
   * Events per batch of a projection that applies ranges in SQL (provenance): its payloads never reach
   * the process, so bytes (`batchMaxBytes`) bound its batches rather than a count. batchSize when unset.
   */
  rangeBatchSize?: number;
  /** A batch stops taking events once their stored payloads reach this many bytes (one event always fits). */
  batchMaxBytes?: number;
  pollMs?: number;
  /**
   * Back-to-back batches of a lane start at least this far apart (unless the last one was full). Under a
   * stream of small commits this gathers them into fewer, larger transactions: a batch costs a few round
   * trips whatever its size. The first batch after a quiet spell is read at once, so an isolated command
   * is projected without this delay.
   */
  batchWindowMs?: number;
  /**
   * What the window grows to while a lane's reads keep finding events right after it (batchWindow.ts);
   * batchWindowMs when unset (a fixed window).
   */
  batchWindowMaxMs?: number;
  retry?: RetryPolicy;
  /**
   * Emits when new events may be readable (LISTEN/NOTIFY; a payload may name the types committed, see
   * typesOfWakeup); lanes poll every `pollMs` regardless.
   */
  wakeups?: Observable<unknown>;
  /** How often a standby retries leadership. */
  retryMs?: number;
  logger?: Logger;
  observer?: ProjectorObserver;
}

export const DEFAULT_BATCH_MAX_BYTES = 8 * 1024 * 1024;
const LANE_POLL_FACTOR = 20;

/**
 * Runs every projection on the one instance holding the projector lock (a standby waits), each in its own
 * lane (ProjectionLane): own reads, transactions, checkpoint and failure handling, all at once. Every
 * batch is fenced on the lock, so a leader that lost it commits nothing more.
 */
export class Projector {
  private readonly elector: LeaderElector;

  constructor(private readonly options: ProjectorOptions) {
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

  /** Graceful: the batches in flight finish (or roll back), then the lock is released. */
  stop(): Promise<void> {
    return this.elector.stop();
  }

  private async lead({ signal, pid, lockId }: Leadership): Promise<void> {
    const o = this.options;
    const lanes = o.projections.map(
      (projection) =>
        new ProjectionLane({
          pool: o.pool,
          store: o.store,
          projection,
          batchSize: o.batchSize ?? 500,
          ...(o.rangeBatchSize !== undefined ? { rangeBatchSize: o.rangeBatchSize } : {}),
          batchMaxBytes: o.batchMaxBytes ?? DEFAULT_BATCH_MAX_BYTES,
          // Woken by NOTIFY and by watchHead; a lane's own poll is only a safety net.
          pollMs: LANE_POLL_FACTOR * (o.pollMs ?? 250),
          batchWindow: {
            minMs: o.batchWindowMs ?? 0,
            maxMs: Math.max(o.batchWindowMs ?? 0, o.batchWindowMaxMs ?? 0),
          },
          retry: o.retry ?? DEFAULT_RETRY,
          ...(o.logger ? { logger: o.logger } : {}),
          ...(o.observer ? { observer: o.observer } : {}),
        }),
    );
    const wakeAll = () => lanes.forEach((lane) => lane.notify());
    // A wake-up that names the types just committed wakes only the lanes reading one of them.
    const wakeups = o.wakeups?.subscribe((payload) => {
      const types = typesOfWakeup(payload);
      for (const lane of lanes) if (!types || lane.reads(types)) lane.notify();
    });
    const watching = this.watchHead(signal, wakeAll);
    try {
      await Promise.all(lanes.map((lane) => lane.run(signal, { pid, lockId })));
    } finally {
      wakeups?.unsubscribe();
      await watching;
    }
  }

  /**
   * The polling fallback, once for all lanes: every `pollMs`, one cheap read of the newest readable event;
   * when it moved, every lane reads. (Newly readable events always sort after the newest readable one, so
   * this position moves exactly when there is something new.) Idle lanes then cost one query per poll.
   */
  private async watchHead(signal: AbortSignal, wakeAll: () => void): Promise<void> {
    let head: string | null = null;
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.options.pollMs ?? 250);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
      if (signal.aborted) return;
      try {
        const { rows } = await this.options.pool.query<{ head: string }>(HEAD_SQL);
        const now = rows[0]?.head ?? null;
        if (now !== head) wakeAll();
        head = now;
      } catch {
        wakeAll(); // lanes find out what is wrong themselves
      }
    }
  }
}

const HEAD_SQL = `select transaction_id::text || '/' || global_position as head from es_events
   where transaction_id < pg_snapshot_xmin(pg_current_snapshot())
   order by transaction_id desc, global_position desc limit 1`;
