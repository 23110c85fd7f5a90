import type pg from 'pg';
import type { Observable, Subscription } from 'rxjs';
import { type BreakerSnapshot, type RecoveryPolicy, isOpenAt } from '../../domain/breaker';

export const DEFAULT_BREAKER = 'costsim_v2';

/** A full reload now and then (incremental reads only add rows; deletes are not expected, but cheap to heal). */
const FULL_RELOAD_MS = 60_000;

/**
 * The sandbox's hot-path gate: `isV2Disabled(tenant)` answers from memory (no I/O). The map is refreshed
 * from cb_state when the projector signals a change (NOTIFY) and on a short poll, so every replica
 * reflects a committed command within about a second even if notifications are lost.
 *
 * A refresh reads only the rows changed since the last one (cb_state.changed_tx), not the whole table:
 * one row per breaker and tenant, changed by every drift report. Rows are read from the previous read's
 * snapshot-xmin horizon on, so a row whose transaction was still running at that read (and commits later
 * with a lower id than rows already seen) is read the next time: nothing is missed, a row may be read twice.
 *
 * A rebuild swaps a complete new cb_state in (docs/projections.md): the table's oid changes, and the next
 * refresh reads the new table whole and replaces the map in one step, so the gate never sees a partial one.
 */
export class BreakerStateCache {
  private states = new Map<string, BreakerSnapshot>();
  private timer: NodeJS.Timeout | null = null;
  private subscription: Subscription | null = null;
  private loading: Promise<void> | null = null;
  private reloadAgain = false;
  /** Transactions from this id on may have committed since the last read; null = read everything. */
  private horizon: string | null = null;
  private fullReloadAt = 0;
  /** cb_state's oid at the last read: a different one means a rebuild swapped the table. */
  private tableOid: string | null = null;
  loadedAt: Date | null = null;
  /** Rows read by the last refresh (observability and tests). */
  lastRefreshRows = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly policy: RecoveryPolicy,
    private readonly options: {
      pollMs: number;
      changes?: Observable<unknown>;
      onError?: (err: unknown) => void;
    },
  ) {}

  private static key(name: string, tenantId: string | null): string {
    return tenantId === null ? name : `${name}@${tenantId}`;
  }

  async start(): Promise<void> {
    await this.reload();
    this.subscription = this.options.changes?.subscribe(() => void this.reload()) ?? null;
    this.timer = setInterval(() => void this.reload(), this.options.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.subscription?.unsubscribe();
  }

  /** One reload at a time; a change signalled during a reload triggers exactly one more. */
  reload(): Promise<void> {
    if (this.loading) {
      this.reloadAgain = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.refresh();
        } while (this.reloadAgain);
      } catch (err) {
        this.options.onError?.(err); // keep serving the last known states
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private async refresh(): Promise<void> {
    let full = this.horizon === null || Date.now() >= this.fullReloadAt;
    const read = () =>
      // One statement, so the horizon, the table and the rows come from the same snapshot.
      this.pool.query<{
        horizon: string;
        table_oid: string;
        name: string | null;
        tenant_id: string | null;
        state: BreakerSnapshot | null;
      }>(
        `select pg_snapshot_xmin(pg_current_snapshot())::text as horizon,
                'cb_state'::regclass::oid::text as table_oid, c.name, c.tenant_id, c.state
           from (select 1) one
           left join cb_state c on $1::xid8 is null or c.changed_tx >= $1::xid8`,
        [full ? null : this.horizon],
      );
    let { rows } = await read();
    if (!full && rows[0]!.table_oid !== this.tableOid) {
      full = true; // swapped by a rebuild: the new table, whole
      ({ rows } = await read());
    }
    this.tableOid = rows[0]!.table_oid;
    const changed = rows.filter((r) => r.name !== null);
    const states = full ? new Map<string, BreakerSnapshot>() : this.states;
    for (const r of changed) states.set(BreakerStateCache.key(r.name!, r.tenant_id), r.state!);
    this.states = states;
    this.horizon = rows[0]!.horizon;
    if (full) this.fullReloadAt = Date.now() + FULL_RELOAD_MS;
    this.lastRefreshRows = changed.length;
    this.loadedAt = new Date();
  }

  snapshot(name: string, tenantId: string | null): BreakerSnapshot | undefined {
    return this.states.get(BreakerStateCache.key(name, tenantId));
  }

  isOpen(name: string, tenantId: string | null, now = new Date()): boolean {
    const state = this.states.get(BreakerStateCache.key(name, tenantId));
    return state !== undefined && isOpenAt(state, now, this.policy);
  }

  /** V2 runs only if neither the global breaker nor the tenant's breaker is open (domain.md §3). */
  isV2Disabled(tenantId: string | null = null, now = new Date()): boolean {
    return (
      this.isOpen(DEFAULT_BREAKER, null, now) ||
      (tenantId !== null && this.isOpen(DEFAULT_BREAKER, tenantId, now))
    );
  }

  all(): Array<{ name: string; tenant_id: string | null; state: BreakerSnapshot }> {
    return [...this.states.entries()].map(([key, state]) => {
      const at = key.indexOf('@');
      return at === -1
        ? { name: key, tenant_id: null, state }
        : { name: key.slice(0, at), tenant_id: key.slice(at + 1), state };
    });
  }
}
