import type pg from 'pg';
import type { Observable, Subscription } from 'rxjs';
import { type BreakerSnapshot, type RecoveryPolicy, isOpenAt } from '../../domain/breaker';

export const DEFAULT_BREAKER = 'costsim_v2';

/**
 * The sandbox's hot-path gate: `isV2Disabled(tenant)` answers from memory (no I/O). The map is reloaded
 * from cb_state when the projector signals a change (NOTIFY) and on a short poll, so every replica
 * reflects a committed command within about a second even if notifications are lost.
 */
export class BreakerStateCache {
  private states = new Map<string, BreakerSnapshot>();
  private timer: NodeJS.Timeout | null = null;
  private subscription: Subscription | null = null;
  private loading: Promise<void> | null = null;
  private reloadAgain = false;
  loadedAt: Date | null = null;

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
          const { rows } = await this.pool.query<{
            name: string;
            tenant_id: string | null;
            state: BreakerSnapshot;
          }>('select name, tenant_id, state from cb_state');
          this.states = new Map(rows.map((r) => [BreakerStateCache.key(r.name, r.tenant_id), r.state]));
          this.loadedAt = new Date();
        } while (this.reloadAgain);
      } catch (err) {
        this.options.onError?.(err); // keep serving the last known states
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
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
