import type pg from 'pg';
import type { Logger } from 'pino';
import {
  PROVENANCE_RETENTION_STREAM,
  type ProvenanceRetentionApplied,
} from '../../domain/provenance/provenanceRecorded';
import type { EventStore } from '../../infra/eventStore/eventStore';
import { PeriodicLeaderJob } from '../../infra/postgres/periodicLeaderJob';
import { inTransaction } from '../../infra/postgres/pool';
import {
  applyRetentionEvents,
  provenanceProjection,
} from '../../projections/provenance/provenanceProjection';
import { appendInline } from '../../projections/runtime/inlineProjection';

/** How often the leader applies retention; records are kept `retentionDays`, so hours of slack are fine. */
const RETENTION_EVERY_MS = 6 * 60 * 60 * 1000;

/**
 * Provenance retention (docs/domain.md §5, lock 7003 "provenance archiver/retention"): one replica appends
 * ProvenanceRetentionApplied with the cut-off (now − COSTSIM_PROVENANCE_RETENTION_DAYS) and applies it to
 * the read model at once; the projector applies it again (idempotent), and so does any rebuild. The
 * records' events stay in the log: the event store is the archive.
 */
export class ProvenanceRetention {
  private readonly job: PeriodicLeaderJob;

  constructor(
    private readonly options: {
      connectionString: string;
      lockId: number;
      pool: pg.Pool;
      store: EventStore;
      retentionDays: number;
      clock?: () => Date;
      logger?: Logger;
    },
  ) {
    this.job = new PeriodicLeaderJob({
      connectionString: options.connectionString,
      lockId: options.lockId,
      name: 'provenance-retention',
      intervalMs: RETENTION_EVERY_MS,
      pass: () => this.runOnce(),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** One pass; returns the rows removed from the read model now. */
  async runOnce(): Promise<number> {
    const now = (this.options.clock ?? (() => new Date()))();
    const event: ProvenanceRetentionApplied = {
      type: 'ProvenanceRetentionApplied',
      data: {
        before: new Date(now.getTime() - this.options.retentionDays * 86_400_000).toISOString(),
        retention_days: this.options.retentionDays,
        at: now.toISOString(),
      },
    };
    // Only when something is due: an idle service does not fill its log with empty retention events (a
    // record the read model has not caught up with yet is caught by a later pass).
    const { rows } = await this.options.pool.query<{ due: boolean }>(
      'select exists (select 1 from provenance where created_at < $1) as due',
      [event.data.before],
    );
    if (!rows[0]?.due) return 0;
    // The cut-off reaches the read model through its projection, in the event's transaction.
    const { applied: removed } = await inTransaction(this.options.pool, (tx) =>
      appendInline(tx, this.options.store, provenanceProjection, PROVENANCE_RETENTION_STREAM, [event], {
        apply: applyRetentionEvents,
      }),
    );
    if (removed > 0)
      this.options.logger?.info({ removed, before: event.data.before }, 'provenance retention');
    return removed;
  }
}
