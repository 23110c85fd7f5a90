import type pg from 'pg';
import type { Logger } from 'pino';
import type { AlertSource } from '../../domain/alerts/breakerAlerts';
import type { AlertmanagerAlert } from '../../domain/alerts/alertmanagerAlert';
import { type IncidentAlertFacts, renderQueuedAlert } from '../../domain/alerts/renderQueuedAlert';
import { PeriodicLeaderJob } from '../../infra/postgres/periodicLeaderJob';
import type { AlertSender } from './alertDeliveryWorker';

/** docs/domain.md §4: a resolve is re-sent for 15 minutes. */
const RESOLVE_RESEND_MS = 15 * 60 * 1000;

/**
 * Alertmanager forgets an alert that is not re-sent before its endsAt. One replica (advisory lock 7002)
 * re-asserts every open incident's firing alert each ALERT_RESEND_INTERVAL (endsAt four intervals ahead),
 * and re-sends each resolve for 15 minutes (an Alertmanager that missed it, or restarted without
 * storage, must not keep a stale firing alert). These repeats are idempotent, so they go straight to
 * every Alertmanager instead of through the queue; the queue carries each alert's first, durable send.
 */
export class AlertReasserter {
  private readonly job: PeriodicLeaderJob;

  constructor(
    private readonly options: {
      connectionString: string;
      lockId: number;
      pool: pg.Pool;
      sender: AlertSender;
      targets: readonly string[];
      source: AlertSource;
      resendIntervalSeconds: number;
      clock?: () => Date;
      logger?: Logger;
      onSend?: (ok: boolean) => void;
    },
  ) {
    this.job = new PeriodicLeaderJob({
      connectionString: options.connectionString,
      lockId: options.lockId,
      name: 'alert-reasserter',
      intervalMs: options.resendIntervalSeconds * 1000,
      pass: () => this.reassert(),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** One pass; returns the alerts re-sent (per target). */
  async reassert(): Promise<number> {
    const { pool, targets, source, resendIntervalSeconds, sender } = this.options;
    if (targets.length === 0) return 0;
    const now = (this.options.clock ?? (() => new Date()))();
    const { rows } = await pool.query<IncidentAlertFacts & { resolved_at: Date | null }>(
      `select breaker, tenant_id, instance, trip, closed, resolved_at from alert_firing
        where resolved_at is null or resolved_at > $1`,
      [new Date(now.getTime() - RESOLVE_RESEND_MS)],
    );
    // The incident's alert as the queue renders it: firing (endsAt pushed ahead) while open, the same
    // labels with endsAt = closing time once closed. The informational "re-enabled" alert is not repeated.
    const alerts: AlertmanagerAlert[] = rows.flatMap((facts) =>
      renderQueuedAlert('disable', facts, source, now, resendIntervalSeconds),
    );
    if (alerts.length === 0) return 0;
    let sent = 0;
    for (const target of targets) {
      const result = await sender.post(target, alerts);
      this.options.onSend?.(result.ok);
      if (result.ok) sent += alerts.length;
      else this.options.logger?.warn({ target, error: result.error }, 'alert re-assertion failed');
    }
    return sent;
  }
}
