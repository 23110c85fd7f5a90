import type pg from 'pg';

export type AlertStatus = 'pending' | 'sent' | 'failed';

export interface AlertRow {
  id: string;
  alert_type: string;
  circuit_breaker_name: string | null;
  tenant_id: string | null;
  incident_id: string | null;
  /** null while no Alertmanager is configured: the alert waits in the queue. */
  target: string | null;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  last_attempt_at: string | null;
  next_attempt_at: string;
  last_error: string | null;
  status: AlertStatus;
  created_at: string;
  sent_at: string | null;
}

export interface AlertStats {
  pending: number;
  sent: number;
  failed: number;
  oldest_pending: string | null;
}

/** Reads of the alert queue for operators (docs/api.md "Alerts"). `tenant` undefined = every tenant. */
export class AlertQueries {
  constructor(private readonly pool: pg.Pool) {}

  async list(options: { status?: AlertStatus; limit: number; tenant?: string }): Promise<AlertRow[]> {
    const { rows } = await this.pool.query<AlertRow>(
      `select id, alert_type, circuit_breaker_name, tenant_id, incident_id, target, payload, attempts,
              max_attempts, last_attempt_at, next_attempt_at, last_error, status, created_at, sent_at
         from alert_queue
        where ($1::text is null or status = $1) and ($2::boolean is false or tenant_id = $3)
        order by created_at desc, id
        limit $4`,
      [options.status ?? null, options.tenant !== undefined, options.tenant ?? null, options.limit],
    );
    return rows.map((r) => ({
      ...r,
      last_attempt_at: iso(r.last_attempt_at),
      next_attempt_at: iso(r.next_attempt_at)!,
      created_at: iso(r.created_at)!,
      sent_at: iso(r.sent_at),
    }));
  }

  async stats(tenant?: string): Promise<AlertStats> {
    const { rows } = await this.pool.query<{
      pending: string;
      sent: string;
      failed: string;
      oldest_pending: Date | null;
    }>(
      `select count(*) filter (where status = 'pending') as pending,
              count(*) filter (where status = 'sent') as sent,
              count(*) filter (where status = 'failed') as failed,
              min(created_at) filter (where status = 'pending') as oldest_pending
         from alert_queue where ($1::boolean is false or tenant_id = $2)`,
      [tenant !== undefined, tenant ?? null],
    );
    const r = rows[0]!;
    return {
      pending: Number(r.pending),
      sent: Number(r.sent),
      failed: Number(r.failed),
      oldest_pending: r.oldest_pending ? r.oldest_pending.toISOString() : null,
    };
  }

  /** Failed rows and the max_attempts each gets when retried with `extra` more attempts. */
  async failedRows(extra: number): Promise<Array<{ id: string; max_attempts: number }>> {
    const { rows } = await this.pool.query<{ id: string; max_attempts: number }>(
      `select id, max_attempts + $1 as max_attempts from alert_queue where status = 'failed' order by id`,
      [extra],
    );
    return rows;
  }
}

function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : String(value);
}
