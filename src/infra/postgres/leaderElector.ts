import type pg from 'pg';
import { connectDedicated } from './pool';

export interface Leadership {
  /** Aborted the moment leadership is lost (connection dropped, lock gone) or the elector stops. */
  signal: AbortSignal;
  /** Backend pid holding the lock: work can fence its writes on it (see advisoryLockHeld). */
  pid: number;
  lockId: number;
}

export interface LeaderElectorOptions {
  /** How often a standby retries the lock, and how often the leader checks it still holds it. */
  retryMs?: number;
  checkMs?: number;
  onChange?: (isLeader: boolean) => void;
  onError?: (err: unknown) => void;
}

/** SQL that is true only while `pid` holds advisory lock `lockId` (single bigint key form). */
export const advisoryLockHeldSql = `exists (
  select 1 from pg_locks
  where locktype = 'advisory' and granted and pid = $PID
    and classid = ($LOCK::bigint >> 32)::int::oid and objid = ($LOCK::bigint & 4294967295)::oid and objsubid = 1)`;

/**
 * Leader election on a PostgreSQL advisory lock held by a dedicated (never pooled) connection: a pooled
 * connection would leak the lock to whoever borrows it next (the original's bug). A standby retries; a
 * killed leader's lock frees as soon as PostgreSQL sees its connection drop.
 */
export class LeaderElector {
  private client: pg.Client | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private current: AbortController | null = null;
  private wakeStandby: (() => void) | null = null;
  isLeader = false;

  constructor(
    private readonly connectionString: string,
    readonly lockId: number,
    private readonly name: string,
    private readonly options: LeaderElectorOptions = {},
  ) {}

  /** Runs `work` whenever this instance leads; returns at once. `work` must return when the signal aborts. */
  start(work: (leadership: Leadership) => Promise<void>): void {
    if (this.running) throw new Error(`${this.name}: already started`);
    this.running = this.loop(work);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.current && !this.current.signal.aborted) {
      this.current.abort();
      this.setLeader(false);
    }
    this.wakeStandby?.();
    await this.running;
  }

  private async loop(work: (leadership: Leadership) => Promise<void>): Promise<void> {
    while (!this.stopped) {
      let acquired: { client: pg.Client; pid: number } | null = null;
      try {
        acquired = await this.tryAcquire();
      } catch (err) {
        this.options.onError?.(err);
      }
      if (!acquired) {
        await this.sleep(this.options.retryMs ?? 1000);
        continue;
      }
      if (this.stopped) {
        // stop() ran while the lock was being taken: there was no work to abort yet.
        await this.release(acquired.client);
        break;
      }
      const controller = new AbortController();
      this.current = controller;
      const { client, pid } = acquired;
      // Leadership ends the moment it is lost, not when the work winds down (its writes are fenced).
      const lose = () => {
        if (controller.signal.aborted) return;
        controller.abort();
        this.setLeader(false);
      };
      client.on('error', lose);
      client.on('end', lose);
      const check = setInterval(() => {
        client
          .query<{ held: boolean }>(
            `select ${advisoryLockHeldSql.replace(/\$PID/g, 'pg_backend_pid()').replace(/\$LOCK/g, '$1')} as held`,
            [this.lockId],
          )
          .then(({ rows }) => rows[0]?.held || lose(), lose);
      }, this.options.checkMs ?? 1000);
      this.setLeader(true);
      try {
        await work({ signal: controller.signal, pid, lockId: this.lockId });
      } catch (err) {
        this.options.onError?.(err);
      } finally {
        clearInterval(check);
        if (this.isLeader) this.setLeader(false);
        this.current = null;
        await this.release(client);
      }
      // An instance that just lost (or gave up) leadership waits longer than a standby's retry interval, so
      // a healthy standby takes over instead of the instance whose connection just failed.
      await this.sleep(3 * (this.options.retryMs ?? 1000));
    }
    // A standby keeps its connection for the next retry; stopping must close it, or it keeps the process
    // (and a server connection) alive.
    const idle = this.client;
    this.client = null;
    await idle?.end().catch(() => {});
  }

  private async tryAcquire(): Promise<{ client: pg.Client; pid: number } | null> {
    let client = this.client;
    if (!client) {
      client = await connectDedicated(this.connectionString, `costsim-guard-${this.name}`);
      // Once per connection: a standby reuses it for every retry.
      client.on('error', () => {});
      this.client = client;
    }
    try {
      const { rows } = await client.query<{ locked: boolean; pid: number }>(
        'select pg_try_advisory_lock($1) as locked, pg_backend_pid() as pid',
        [this.lockId],
      );
      return rows[0]?.locked ? { client, pid: rows[0].pid } : null;
    } catch (err) {
      this.client = null;
      await client.end().catch(() => {});
      throw err;
    }
  }

  private async release(client: pg.Client): Promise<void> {
    // Explicit release; if the connection is gone, so is the lock. A fresh connection is used next time.
    this.client = null;
    await client.query('select pg_advisory_unlock($1)', [this.lockId]).catch(() => {});
    await client.end().catch(() => {});
  }

  private setLeader(value: boolean): void {
    this.isLeader = value;
    this.options.onChange?.(value);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.wakeStandby = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeStandby = done;
    });
  }
}
