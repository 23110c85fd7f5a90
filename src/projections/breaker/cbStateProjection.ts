import type pg from 'pg';
import {
  type BreakerEvent,
  type BreakerState,
  breakerEventTypes,
  breakerId,
  breakerIdOfStream,
  breakerStream,
  decodeStoredBreakerState,
  evolveBreaker,
  initialBreakerState,
  tenantKey,
} from '../../domain/breaker';
import { type Decoded, type Projection, defineProjection, neverPark } from '../projection';

/** Caches of breaker state (every replica's V2 gate) reload when this fires, and poll as a fallback. */
export const CB_STATE_CHANNEL = 'cb_state_changed';

/**
 * cb_state: one row per breaker, the aggregate state folded with the domain's evolve. A batch loads the
 * touched rows once, evolves in memory, and upserts once per breaker.
 */
export const cbStateProjection: Projection = defineProjection<BreakerEvent>({
  name: 'cb_state',
  handles: breakerEventTypes,
  tables: ['cb_state'],
  // The breaker's own events: retried for ever, never parked (the V2 gate fails closed on the failure).
  mayPark: neverPark,
  changeChannel: CB_STATE_CHANNEL,
  async apply(tx: pg.ClientBase, events: readonly Decoded<BreakerEvent>[]) {
    const streams = [...new Set(events.map((e) => e.streamName))];
    const ids = streams.flatMap((stream) => breakerIdOfStream(stream) ?? []);
    const { rows } = await tx.query<{ name: string; tenant_id: string | null; state: BreakerState }>(
      `select name, tenant_id, state from cb_state
        where (name, tenant_key) in (select * from unnest($1::text[], $2::text[]))`,
      [ids.map((id) => id.name), ids.map(tenantKey)],
    );
    const states = new Map(
      rows.map((r) => [breakerStream(breakerId(r.name, r.tenant_id)), decodeStoredBreakerState(r.state)]),
    );
    for (const event of events) {
      const current = states.get(event.streamName) ?? initialBreakerState();
      // Idempotent by version: an event the row already reflects is skipped (rebuilds, replays).
      if (event.streamVersion <= current.version) continue;
      states.set(event.streamName, evolveBreaker(current, event.event));
    }
    const rowsToWrite = ids.flatMap((id) => {
      const state = states.get(breakerStream(id));
      return state ? [{ name: id.name, tenant_id: id.tenantId, state }] : [];
    });
    // One statement for the whole batch, however many breakers it touched; changed_tx lets every replica's
    // cache reload only what changed.
    await tx.query(
      `insert into cb_state (name, tenant_id, open, disabled_by, disabled_reason, disabled_until, incident_id,
                             consecutive_failures, last_failure_at, opened_at, updated_at, version, state)
       select r.name, r.tenant_id, (r.state->>'open')::boolean, r.state->>'disabled_by',
              r.state->>'disabled_reason', (r.state->>'disabled_until')::timestamptz, r.state->>'incident_id',
              (r.state->>'consecutive_failures')::int, (r.state->>'last_failure_at')::timestamptz,
              (r.state->>'opened_at')::timestamptz, (r.state->>'updated_at')::timestamptz,
              (r.state->>'version')::bigint, r.state
         from jsonb_to_recordset($1::jsonb) as r(name text, tenant_id text, state jsonb)
       on conflict (name, tenant_key) do update set
         open = excluded.open, disabled_by = excluded.disabled_by, disabled_reason = excluded.disabled_reason,
         disabled_until = excluded.disabled_until, incident_id = excluded.incident_id,
         consecutive_failures = excluded.consecutive_failures, last_failure_at = excluded.last_failure_at,
         opened_at = excluded.opened_at, updated_at = excluded.updated_at, version = excluded.version,
         state = excluded.state, changed_tx = pg_current_xact_id()`,
      [JSON.stringify(rowsToWrite)],
    );
    // Delivered at commit, only if the batch commits.
    await tx.query('select pg_notify($1, $2)', [CB_STATE_CHANNEL, '']);
  },
});
