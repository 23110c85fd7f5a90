import type pg from 'pg';
import {
  type BreakerState,
  type RecoveryPolicy,
  breakerId,
  compareBreakerIds,
  decodeStoredBreakerState,
  initialBreakerState,
  tenantKey,
} from '../../domain/breaker';
import { tenantVisible } from '../../infra/http/auth';
import { type BreakerStateView, type IncidentView, breakerStateView } from './breakerViews';
import type { BreakerStateCache } from './breakerStateCache';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

interface IncidentRow {
  id: string;
  breaker: string;
  tenant_id: string | null;
  timestamp: Date;
  reason: string;
  severity: string;
  drift_score: number | null;
  sample_count: number | null;
  details: Record<string, unknown>;
  resolved: boolean;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_notes: string | null;
  alert_sent: boolean;
  alert_sent_at: Date | null;
}

const toIncident = (r: IncidentRow): IncidentView => ({
  ...r,
  timestamp: r.timestamp.toISOString(),
  resolved_at: iso(r.resolved_at),
  alert_sent_at: iso(r.alert_sent_at),
});

/** Read-model queries for breakers: they read projections only, never the event store. */
export class BreakerQueries {
  constructor(
    private readonly pool: pg.Pool,
    private readonly policy: RecoveryPolicy,
    private readonly clock: () => Date = () => new Date(),
    /** The V2 gate (states folded from breaker events); single-breaker reads use it while it is trusted. */
    private readonly gate?: BreakerStateCache,
  ) {}

  /** One breaker from the gate while it is trusted (no query, never behind the projector), else cb_state. */
  async get(name: string, tenantId: string | null): Promise<BreakerStateView> {
    if (this.gate && !this.gate.failingClosed) {
      const state = this.gate.snapshot(name, tenantId) ?? initialBreakerState();
      return breakerStateView(name, tenantId, state, this.clock(), this.policy);
    }
    return this.getFromTable(name, tenantId);
  }

  async getFromTable(name: string, tenantId: string | null): Promise<BreakerStateView> {
    const { rows } = await this.pool.query<{ state: BreakerState }>(
      'select state from cb_state where name = $1 and tenant_key = $2',
      [name, tenantKey(breakerId(name, tenantId))],
    );
    return breakerStateView(
      name,
      tenantId,
      rows[0] ? decodeStoredBreakerState(rows[0].state) : initialBreakerState(),
      this.clock(),
      this.policy,
    );
  }

  /** Polls the read model until it reaches `minVersion` (read-your-writes), up to `timeoutMs`. */
  async getAtLeast(name: string, tenantId: string | null, minVersion: number, timeoutMs = 2000) {
    const fromReplica = await this.get(name, tenantId);
    if (fromReplica.version >= minVersion) return fromReplica;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.getFromTable(name, tenantId);
      if (view.version >= minVersion || Date.now() >= deadline) return view;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Global breakers plus, for a tenant, its own; a global caller (tenant undefined) sees every breaker.
   * From the gate while it is trusted (it holds every breaker that has an event), so a list agrees with
   * the single-breaker reads; else from cb_state.
   */
  async list(tenantId: string | null | undefined): Promise<BreakerStateView[]> {
    if (this.gate && !this.gate.failingClosed) {
      const now = this.clock();
      return this.gate
        .all()
        .filter((b) => tenantVisible(tenantId, b.tenant_id))
        .sort((a, b) => compareBreakerIds(breakerId(a.name, a.tenant_id), breakerId(b.name, b.tenant_id)))
        .map((b) => breakerStateView(b.name, b.tenant_id, b.state, now, this.policy));
    }
    const { rows } = await this.pool.query<{ name: string; tenant_id: string | null; state: BreakerState }>(
      `select name, tenant_id, state from cb_state
        where $1::boolean or tenant_id is null or tenant_id = $2
        order by name, tenant_key`,
      [tenantId === undefined, tenantId ?? null],
    );
    const now = this.clock();
    return rows.map((r) =>
      breakerStateView(r.name, r.tenant_id, decodeStoredBreakerState(r.state), now, this.policy),
    );
  }

  async incidents(
    name: string,
    tenantId: string | null,
    { includeResolved, limit }: { includeResolved: boolean; limit: number },
  ): Promise<{ incidents: IncidentView[]; total: number }> {
    // One statement, so the page and the total come from the same snapshot (two queries could see the
    // projector's batch land in between: a total of 11 beside a page of 7).
    const { rows } = await this.pool.query<IncidentRow & { total: string }>(
      `select id, breaker, tenant_id, timestamp, reason, severity, drift_score, sample_count, details, resolved,
              resolved_at, resolved_by, resolution_notes, alert_sent, alert_sent_at, count(*) over () as total
         from cb_incidents
        where breaker = $1 and coalesce(tenant_id, '') = $2 and ($3::boolean or not resolved)
        order by timestamp desc, id limit $4`,
      [name, tenantKey(breakerId(name, tenantId)), includeResolved, limit],
    );
    const total = rows[0] ? Number(rows[0].total) : 0;
    return { incidents: rows.map(({ total: _total, ...row }) => toIncident(row)), total };
  }

  /**
   * Breakers whose TTL has passed but whose recovery is not written yet (the recovery worker's input):
   * from the gate while it is trusted (so a recovery is never late because the projector is), else cb_state.
   */
  async expired(now: Date): Promise<Array<{ name: string; tenant_id: string | null }>> {
    if (this.gate && !this.gate.failingClosed) {
      return this.gate
        .all()
        .filter(
          ({ state }) =>
            state.open && state.disabled_until !== null && Date.parse(state.disabled_until) <= +now,
        )
        .sort((a, b) => Date.parse(a.state.disabled_until!) - Date.parse(b.state.disabled_until!))
        .slice(0, 500)
        .map(({ name, tenant_id }) => ({ name, tenant_id }));
    }
    const { rows } = await this.pool.query<{ name: string; tenant_id: string | null }>(
      'select name, tenant_id from cb_state where open and disabled_until <= $1 order by disabled_until limit 500',
      [now],
    );
    return rows;
  }
}
