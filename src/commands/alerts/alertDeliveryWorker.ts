import type pg from 'pg';
import type { Logger } from 'pino';
import type { Observable, Subscription } from 'rxjs';
import {
  type AlertDelivered,
  type AlertDeliveryFailed,
  ALERT_ROUTING_STREAM,
  type AlertRouted,
  alertDeliveryStream,
} from '../../domain/alerts/alertDeliveryEvents';
import type { AlertmanagerAlert } from '../../domain/alerts/alertmanagerAlert';
import { type AlertSource, retryDelaySeconds } from '../../domain/alerts/breakerAlerts';
import type { IncidentAlertFacts } from '../../domain/alerts/renderQueuedAlert';
import { renderAlert } from '../../domain/alerts/alertKinds';
import type { EventStore } from '../../infra/eventStore/eventStore';
import { inTransaction } from '../../infra/postgres/pool';
import { SerialPasses } from '../../infra/serialPasses';
import { alertQueueProjection } from '../../projections/alerts/alertQueueProjection';
import { appendInline, appendInlineAlone } from '../../projections/runtime/inlineProjection';
import { deterministicUuid } from '../deterministicUuid';

export type DeliveryResult = { ok: true } | { ok: false; error: string; retryable: boolean };

/** The Alertmanager side as the worker sees it (src/infra/alertmanager/alertmanagerClient.ts). */
export interface AlertSender {
  post(baseUrl: string, alerts: readonly AlertmanagerAlert[]): Promise<DeliveryResult>;
}

export interface DeliveryObserver {
  onDelivered?(alertType: string): void;
  onFailed?(alertType: string, final: boolean): void;
}

export interface AlertDeliveryWorkerOptions {
  pool: pg.Pool;
  store: EventStore;
  sender: AlertSender;
  /** Alertmanager base URLs; empty = alerts stay queued. */
  targets: readonly string[];
  source: AlertSource;
  resendIntervalSeconds: number;
  /** Names this worker's claims (instance id). */
  workerId: string;
  pollMs?: number;
  batchSize?: number;
  /** A claim expires after this: a worker that died mid-send loses it to the others. */
  leaseMs?: number;
  wakeups?: Observable<unknown>;
  clock?: () => Date;
  logger?: Logger;
  observer?: DeliveryObserver;
}

interface ClaimedRow {
  id: string;
  intent_key: string;
  alert_type: string;
  incident_id: string | null;
  target: string;
  attempts: number;
  max_attempts: number;
  facts: IncidentAlertFacts | null;
  /** the row's own facts (a drift warning's, a failed canary run's): what its kind renders from */
  own_facts: unknown;
}

/**
 * The outbox worker. Runs on every replica at once: rows are claimed with FOR UPDATE SKIP LOCKED and a
 * lease, so replicas share the queue without sending a row twice (unless a claim outlives its lease, when
 * at-least-once delivery may repeat a send: Alertmanager de-duplicates identical alerts).
 *
 * A pass: route new intents to every configured Alertmanager, then claim due rows, send each, and record
 * each outcome as an event (what a rebuild replays). Routing and outcomes reach alert_queue only through
 * its projection, applied inline to the appended event in the event's own transaction
 * (src/projections/runtime/inlineProjection.ts): the row and the event commit together.
 */
export class AlertDeliveryWorker {
  private timer: NodeJS.Timeout | null = null;
  private subscription: Subscription | null = null;
  private stopped = false;
  private readonly passes = new SerialPasses(() => this.pass(), {
    onError: (err) => this.options.logger?.warn({ err }, 'alert delivery pass failed'),
    stopped: () => this.stopped,
  });

  constructor(private readonly options: AlertDeliveryWorkerOptions) {}

  start(): void {
    this.subscription = this.options.wakeups?.subscribe(() => this.kick()) ?? null;
    const tick = () => {
      this.kick();
      if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs ?? 1000);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.subscription?.unsubscribe();
    await this.passes.idle();
  }

  /** One pass at a time; a wake-up during a pass runs one more. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.passes.run();
  }

  /** Routes and sends until nothing is due; returns the number of rows sent or failed. */
  async pass(): Promise<number> {
    await this.route();
    let handled = 0;
    for (;;) {
      const claimed = await this.claim();
      if (claimed.length === 0) return handled;
      await Promise.all(claimed.map((row) => this.deliver(row)));
      handled += claimed.length;
    }
  }

  private now(): Date {
    return (this.options.clock ?? (() => new Date()))();
  }

  /**
   * Every unrouted intent, 500 at a time, one AlertRouted event per batch, applied in its transaction.
   * Intents are locked with SKIP LOCKED while routed, so replicas routing at once split the work instead
   * of repeating it.
   */
  private async route(): Promise<void> {
    const { pool, targets, store } = this.options;
    if (targets.length === 0) return; // nowhere to send: intents stay queued (pending), never "sent"
    for (;;) {
      const routed = await inTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ id: string }>(
          `select id from alert_queue where target is null and status = 'pending'
            order by created_at limit 500 for update skip locked`,
        );
        if (rows.length === 0) return 0;
        const event: AlertRouted = {
          type: 'AlertRouted',
          data: { intent_keys: rows.map((r) => r.id), targets: [...targets], at: this.now().toISOString() },
        };
        await appendInline(tx, store, alertQueueProjection, ALERT_ROUTING_STREAM, [event]);
        return rows.length;
      });
      if (routed < 500) return;
    }
  }

  private async claim(): Promise<ClaimedRow[]> {
    const { pool, workerId } = this.options;
    const { rows } = await pool.query<ClaimedRow>(
      `with due as (
         select id from alert_queue
          where status = 'pending' and target is not null and next_attempt_at <= $1
            and (claimed_until is null or claimed_until < $1)
          order by next_attempt_at
          limit $2
          for update skip locked)
       update alert_queue q set claimed_until = $1::timestamptz + make_interval(secs => $3 / 1000.0),
              claimed_by = $4
         from due where q.id = due.id
       returning q.id, q.intent_key, q.alert_type, q.incident_id, q.target, q.attempts, q.max_attempts,
         (select jsonb_build_object('breaker', f.breaker, 'tenant_id', f.tenant_id, 'instance', f.instance,
                                    'trip', f.trip, 'closed', f.closed)
            from alert_firing f where f.incident_id = q.incident_id) as facts,
         q.facts as own_facts`,
      [this.now(), this.options.batchSize ?? 50, this.options.leaseMs ?? 30_000, workerId],
    );
    return rows;
  }

  private async deliver(row: ClaimedRow): Promise<void> {
    const { sender, source, resendIntervalSeconds, store, pool } = this.options;
    const now = this.now();
    let result: DeliveryResult;
    let payload: AlertmanagerAlert[] | null = null;
    try {
      payload = renderAlert(
        row.alert_type,
        { incident: row.facts, own: row.own_facts },
        { source, now, resendIntervalSeconds },
      );
      result = await sender.post(row.target, payload);
    } catch (err) {
      result = { ok: false, error: err instanceof Error ? err.message : String(err), retryable: false };
    }
    const attempts = row.attempts + 1;
    const base = {
      row_id: row.id,
      intent_key: row.intent_key,
      alert_type: row.alert_type,
      incident_id: row.incident_id,
      target: row.target,
      attempts,
      at: now.toISOString(),
      payload,
    };
    const final = !result.ok && (!result.retryable || attempts >= row.max_attempts);
    const event: AlertDelivered | AlertDeliveryFailed = result.ok
      ? { type: 'AlertDelivered', data: base }
      : {
          type: 'AlertDeliveryFailed',
          data: {
            ...base,
            error: result.error.slice(0, 1000),
            next_attempt_at: final
              ? null
              : new Date(now.getTime() + retryDelaySeconds(attempts) * 1000).toISOString(),
          },
        };
    // The outcome and its row commit together (the row's payload is the event's).
    await appendInlineAlone(pool, store, alertQueueProjection, alertDeliveryStream(row.id), [
      { id: deterministicUuid(`${row.id}#${attempts}`), ...event },
    ]);
    if (result.ok) {
      this.options.observer?.onDelivered?.(row.alert_type);
      this.options.logger?.info(
        {
          alert: row.id,
          alert_type: row.alert_type,
          incident_id: row.incident_id,
          target: row.target,
          attempts,
        },
        'alert delivered',
      );
    } else {
      this.options.observer?.onFailed?.(row.alert_type, final);
      this.options.logger?.warn(
        {
          alert: row.id,
          alert_type: row.alert_type,
          incident_id: row.incident_id,
          target: row.target,
          attempts,
          error: result.error,
          final,
          next_attempt_at: event.type === 'AlertDeliveryFailed' ? event.data.next_attempt_at : null,
        },
        final ? 'alert delivery failed for good' : 'alert delivery failed; will retry',
      );
    }
  }
}
