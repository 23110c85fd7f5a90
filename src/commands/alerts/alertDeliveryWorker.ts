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
import { appendInline, appendInlineToStreamsAlone } from '../../projections/runtime/inlineProjection';
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
  /** Rows claimed at once (DEFAULT_DELIVERY_BATCH_SIZE); their alerts for one target go out together. */
  batchSize?: number;
  /** A POST carries at most this many bytes of alerts (one alert alone may exceed it): MAX_POST_BYTES. */
  maxPostBytes?: number;
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
 * Delivery is not leader-locked (lock 7002 is the reasserter's alone): every worker of every replica
 * claims disjoint batches, so delivery scales with their number.
 *
 * A pass: route new intents to every configured Alertmanager, then claim due rows in batches, POST each
 * batch's alerts for one target as one array, and record every outcome of the batch as events (what a
 * rebuild replays) in one transaction. Routing and outcomes reach alert_queue only through
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

  /**
   * Routes and sends until nothing is due; returns the number of rows sent or failed. A pipeline: while
   * one batch is POSTed (one POST at a time per worker), the next is being claimed and the outcomes of
   * the previous ones are being committed (at most RECORDING_BEHIND at once), so a worker's POSTs do not
   * wait on the database's round trips and commits. Batches are disjoint claims: the overlap sends
   * nothing twice.
   */
  async pass(): Promise<number> {
    await this.route();
    let handled = 0;
    const recording = new Set<Promise<void>>();
    const failures: unknown[] = [];
    try {
      let next = settledLater(this.claim());
      for (;;) {
        const claimed = await next;
        if (claimed.length === 0) break;
        if (failures.length > 0) {
          // Recording failed (the database?): hand back the batch claimed ahead rather than hold it for
          // the lease.
          await this.release(claimed).catch(() => {});
          break;
        }
        next = settledLater(this.claim());
        const sent = await this.send(claimed);
        const recorded: Promise<void> = this.record(sent).then(
          () => void recording.delete(recorded),
          (err: unknown) => {
            recording.delete(recorded);
            failures.push(err);
          },
        );
        recording.add(recorded);
        handled += claimed.length;
        while (recording.size >= RECORDING_BEHIND) await Promise.race(recording);
      }
    } finally {
      await Promise.all(recording);
    }
    if (failures.length > 0) throw failures[0];
    return handled;
  }

  private now(): Date {
    return (this.options.clock ?? (() => new Date()))();
  }

  /**
   * Every unrouted intent, 500 at a time, one AlertRouted event per batch, applied in its transaction.
   * Intents are locked with SKIP LOCKED while routed, so replicas routing at once split the work instead
   * of repeating it. Once that finds nothing more, one more round WAITS for the intents others are routing
   * (FOR UPDATE: the ones they routed are gone when it gets them, anything left it routes): so a worker
   * that routed its share does not go on to claim before the others' shares are routed and find nothing —
   * and end its pass while they are still queued (three workers draining a backlog were one, bench alerts).
   */
  private async route(): Promise<void> {
    const { pool, targets, store } = this.options;
    if (targets.length === 0) return; // nowhere to send: intents stay queued (pending), never "sent"
    let lock = 'for update skip locked';
    for (;;) {
      const routed = await inTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ id: string }>(
          `select id from alert_queue where target is null and status = 'pending'
            order by created_at limit ${ROUTING_BATCH} ${lock}`,
        );
        if (rows.length === 0) return 0;
        const event: AlertRouted = {
          type: 'AlertRouted',
          data: { intent_keys: rows.map((r) => r.id), targets: [...targets], at: this.now().toISOString() },
        };
        await appendInline(tx, store, alertQueueProjection, ALERT_ROUTING_STREAM, [event]);
        return rows.length;
      });
      if (routed === ROUTING_BATCH) continue;
      if (lock === 'for update') return;
      lock = 'for update';
    }
  }

  /**
   * The next due rows, leased to this worker: alert_queue_claim (migration 100) walks the claimable rows in
   * queue order and skips those other workers hold, so a claim costs its batch, not the backlog.
   */
  private async claim(): Promise<ClaimedRow[]> {
    const { pool, workerId } = this.options;
    const { rows } = await pool.query<ClaimedRow>({
      name: 'alert_queue_claim',
      text: 'select * from alert_queue_claim($1, $2, $3, $4)',
      values: [
        this.now(),
        this.options.batchSize ?? DEFAULT_DELIVERY_BATCH_SIZE,
        this.options.leaseMs ?? 30_000,
        workerId,
      ],
    });
    return rows;
  }

  private async release(rows: readonly ClaimedRow[]): Promise<void> {
    await this.options.pool.query(
      `update alert_queue set claimed_until = null, claimed_by = null
        where id = any($1::text[]) and claimed_by = $2 and status = 'pending'`,
      [rows.map((r) => r.id), this.options.workerId],
    );
  }

  /** A claimed batch rendered, and the rows of each target POSTed to it as ONE array (targets in parallel). */
  private async send(rows: readonly ClaimedRow[]): Promise<SentBatch> {
    const { source, resendIntervalSeconds } = this.options;
    const now = this.now();
    const sends = rows.map((row): Send => {
      try {
        return {
          row,
          payload: renderAlert(
            row.alert_type,
            { incident: row.facts, own: row.own_facts },
            { source, now, resendIntervalSeconds },
          ),
        };
      } catch (err) {
        return { row, payload: null, result: { ok: false, error: errorText(err), retryable: false } };
      }
    });
    const byTarget = new Map<string, Send[]>();
    for (const send of sends) {
      if (send.result) continue;
      const group = byTarget.get(send.row.target) ?? [];
      group.push(send);
      byTarget.set(send.row.target, group);
    }
    await Promise.all(
      [...byTarget].map(async ([target, group]) => {
        const results = await this.post(target, group);
        group.forEach((send, i) => (send.result = results[i]));
      }),
    );
    return { sends, now };
  }

  /**
   * Every outcome of a batch in ONE transaction: one append call for all their streams (one stream per
   * row) and the projection applied to all of them, so each row commits with its event.
   */
  private async record({ sends, now }: SentBatch): Promise<void> {
    const outcomes = sends.map((send) => outcomeOf(send, now));
    await appendInlineToStreamsAlone(
      this.options.pool,
      this.options.store,
      alertQueueProjection,
      outcomes.map(({ row, event }) => ({
        stream: alertDeliveryStream(row.id),
        events: [{ id: deterministicUuid(`${row.id}#${event.data.attempts}`), ...event }],
      })),
    );
    for (const outcome of outcomes) this.report(outcome);
  }

  /**
   * The group's alerts in as few POSTs as MAX_POST_BYTES allows (one, for any usual batch), in queue
   * order; a POST's result is each of its alerts'. A failed one (timeout, refused, 5xx) leaves each alert
   * for a retry on its own back-off. A rejected one (4xx other than 408/429) fails each for good, as a
   * rejected single alert is: our rendering produced something Alertmanager refuses, which sending again
   * cannot fix. (Alertmanager itself stores the valid alerts of a batch it answers 400 to, and names the
   * invalid ones in the error that lands in each row's last_error; an operator's "retry failed" re-sends.)
   */
  private async post(target: string, group: readonly Send[]): Promise<DeliveryResult[]> {
    const limit = this.options.maxPostBytes ?? MAX_POST_BYTES;
    const chunks: Send[][] = [];
    let bytes = 0;
    for (const send of group) {
      // JSON length in UTF-16 units: what the body's size is bounded by, near enough for a bound.
      const size = JSON.stringify(send.payload ?? []).length;
      const last = chunks[chunks.length - 1];
      if (last && bytes + size <= limit) {
        last.push(send);
        bytes += size;
      } else {
        chunks.push([send]);
        bytes = size;
      }
    }
    const results = await Promise.all(
      chunks.map((chunk) =>
        this.postOnce(
          target,
          chunk.flatMap((s) => s.payload ?? []),
        ),
      ),
    );
    return chunks.flatMap((chunk, i) => chunk.map(() => results[i]!));
  }

  private async postOnce(target: string, alerts: readonly AlertmanagerAlert[]): Promise<DeliveryResult> {
    try {
      return await this.options.sender.post(target, alerts);
    } catch (err) {
      return { ok: false, error: errorText(err), retryable: false };
    }
  }

  private report({ row, event, final }: Outcome): void {
    if (event.type === 'AlertDelivered') {
      this.options.observer?.onDelivered?.(row.alert_type);
      this.options.logger?.info(
        {
          alert: row.id,
          alert_type: row.alert_type,
          incident_id: row.incident_id,
          target: row.target,
          attempts: event.data.attempts,
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
          attempts: event.data.attempts,
          error: event.data.error,
          final,
          next_attempt_at: event.data.next_attempt_at,
        },
        final ? 'alert delivery failed for good' : 'alert delivery failed; will retry',
      );
    }
  }
}

/**
 * Rows a worker claims at once (ALERT_DELIVERY_BATCH_SIZE). 200: a batch's costs in the database (the
 * claim, one append, one update, one commit, the lanes' range statements) are mostly per row, but what is
 * per batch (round trips, statements, the commit) is a quarter of what it was at 50, and Alertmanager
 * takes 200 alerts in one POST as readily as 50 (bench alerts).
 */
export const DEFAULT_DELIVERY_BATCH_SIZE = 200;

/** 1 MiB of alerts per POST: a batch of alerts with large annotations goes out in several. */
export const MAX_POST_BYTES = 1024 * 1024;

/** Intents routed per transaction (one AlertRouted event each). */
const ROUTING_BATCH = 500;

/** Batches whose outcomes may be committing at once behind the one being POSTed. */
const RECORDING_BEHIND = 4;

/** A promise that may settle before anyone awaits it: its rejection is never reported as unhandled. */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

interface SentBatch {
  sends: Send[];
  /** when it was sent: the outcomes' time and their back-off's start */
  now: Date;
}

/** A claimed row on its way: rendered (payload null when rendering failed), then its send's result. */
interface Send {
  row: ClaimedRow;
  payload: AlertmanagerAlert[] | null;
  result?: DeliveryResult;
}

interface Outcome {
  row: ClaimedRow;
  event: AlertDelivered | AlertDeliveryFailed;
  /** failed with no attempt left (status failed) */
  final: boolean;
}

/** The event a send's result is recorded as; a failure that may be retried is due after its back-off. */
function outcomeOf({ row, payload, result }: Send, now: Date): Outcome {
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
  const outcome = result ?? { ok: false, error: 'not sent', retryable: true };
  if (outcome.ok) return { row, event: { type: 'AlertDelivered', data: base }, final: false };
  const final = !outcome.retryable || attempts >= row.max_attempts;
  return {
    row,
    final,
    event: {
      type: 'AlertDeliveryFailed',
      data: {
        ...base,
        error: outcome.error.slice(0, 1000),
        next_attempt_at: final
          ? null
          : new Date(now.getTime() + retryDelaySeconds(attempts) * 1000).toISOString(),
      },
    },
  };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
