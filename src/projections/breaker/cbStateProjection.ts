import type pg from 'pg';
import {
  type BreakerEvent,
  type BreakerState,
  breakerEventTypes,
  breakerStreamName,
  evolveBreaker,
  initialBreakerState,
  parseBreakerStreamName,
} from '../../domain/breaker';
import type { StoredEvent } from '../../infra/eventStore/eventStore';
import type { Projection } from '../projection';

/** Caches of breaker state (every replica's V2 gate) reload when this fires, and poll as a fallback. */
export const CB_STATE_CHANNEL = 'cb_state_changed';

/**
 * cb_state: one row per breaker, the aggregate state folded with the domain's evolve. A batch loads the
 * touched rows once, evolves in memory, and upserts once per breaker.
 */
export const cbStateProjection: Projection = {
  name: 'cb_state',
  handles: breakerEventTypes,
  async apply(tx: pg.ClientBase, events: readonly StoredEvent[]) {
    const streams = [...new Set(events.map((e) => e.streamName))];
    const ids = streams.map((stream) => parseBreakerStreamName(stream));
    const { rows } = await tx.query<{ name: string; tenant_id: string | null; state: BreakerState }>(
      `select name, tenant_id, state from cb_state
        where (name, tenant_key) in (select * from unnest($1::text[], $2::text[]))`,
      [ids.map((id) => id?.name ?? ''), ids.map((id) => id?.tenant_id ?? '')],
    );
    const streamOf = (name: string, tenant: string | null) => breakerStreamName(name, tenant);
    const states = new Map(rows.map((r) => [streamOf(r.name, r.tenant_id), r.state]));
    for (const event of events) {
      const current = states.get(event.streamName) ?? initialBreakerState();
      // Idempotent by version: an event the row already reflects is skipped (rebuilds, replays).
      if (event.streamVersion <= current.version) continue;
      states.set(event.streamName, evolveBreaker(current, event as unknown as BreakerEvent));
    }
    for (const stream of streams) {
      const id = parseBreakerStreamName(stream);
      const s = states.get(stream);
      if (!id || !s) continue;
      await tx.query(
        `insert into cb_state (name, tenant_id, open, disabled_by, disabled_reason, disabled_until, incident_id,
                               consecutive_failures, last_failure_at, opened_at, updated_at, version, state)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         on conflict (name, tenant_key) do update set
           open = excluded.open, disabled_by = excluded.disabled_by, disabled_reason = excluded.disabled_reason,
           disabled_until = excluded.disabled_until, incident_id = excluded.incident_id,
           consecutive_failures = excluded.consecutive_failures, last_failure_at = excluded.last_failure_at,
           opened_at = excluded.opened_at, updated_at = excluded.updated_at, version = excluded.version,
           state = excluded.state`,
        [
          id.name,
          id.tenant_id,
          s.open,
          s.disabled_by,
          s.disabled_reason,
          s.disabled_until,
          s.incident_id,
          s.consecutive_failures,
          s.last_failure_at,
          s.opened_at,
          s.updated_at,
          s.version,
          JSON.stringify(s),
        ],
      );
    }
    // Delivered at commit, only if the batch commits.
    await tx.query('select pg_notify($1, $2)', [CB_STATE_CHANNEL, '']);
  },
  async reset(tx) {
    await tx.query('delete from cb_state');
  },
};
