import {
  type BreakerEvent,
  type RecoveryPolicy,
  type BreakerId,
  breakerStream,
  evolveBreaker,
  initialBreakerState,
} from '../../domain/breaker';
import type { EventStore, JsonObject } from '../../infra/eventStore/eventStore';
import { decodeEvent } from '../projection';
import { type BreakerStateView, breakerStateView } from './breakerViews';

export interface BreakerHistory {
  events: Array<{
    position: number;
    type: string;
    recorded_at: string;
    actor: string | null;
    data: JsonObject;
  }>;
  total: number;
  state_at_until: BreakerStateView;
}

/**
 * A breaker's history up to `until` (docs/api.md "history"): its last `limit` events and the state at `until`
 * folded from the events alone (the audit log itself, never a read model), as a reader at that instant
 * would have seen it (TTL included).
 */
export async function breakerHistory(
  store: EventStore,
  policy: RecoveryPolicy,
  ref: BreakerId,
  until: Date,
  limit: number,
): Promise<BreakerHistory> {
  const events = await store.readStream(breakerStream(ref), { until });
  const folded = events.reduce(
    (state, e) => evolveBreaker(state, decodeEvent<BreakerEvent>(e)),
    initialBreakerState(),
  );
  return {
    events: events.slice(-limit).map((e) => ({
      position: e.streamVersion,
      type: e.type,
      recorded_at: e.recordedAt.toISOString(),
      actor: typeof e.data.actor === 'string' ? e.data.actor : null,
      data: e.data,
    })),
    total: events.length,
    state_at_until: breakerStateView(ref.name, ref.tenantId, folded, until, policy),
  };
}
