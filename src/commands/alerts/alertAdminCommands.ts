import type pg from 'pg';
import {
  ALERT_ADMIN_STREAM,
  type AlertsPurged,
  type AlertsRetried,
} from '../../domain/alerts/alertDeliveryEvents';
import type { EventStore, JsonObject, NewEvent } from '../../infra/eventStore/eventStore';
import { alertQueueProjection, applyAdminActions } from '../../projections/alerts/alertQueueProjection';
import { appendInline } from '../../projections/runtime/inlineProjection';
import { inTransaction } from '../../infra/postgres/pool';
import type { AlertQueries } from '../../projections/alerts/alertQueries';

export interface AlertAdminDeps {
  queries: AlertQueries;
  store: EventStore;
  pool: pg.Pool;
  /** The service's clock (default: the system's). */
  clock?: () => Date;
}

/**
 * Operators' actions on the alert queue (docs/domain.md §4), for the HTTP routes and the CLI alike: each is an
 * event in `alert_admin` (audited, replayed by a rebuild), applied to the queue by its projection inline, in
 * the event's transaction; the count is of the rows that application changed.
 */
export async function retryFailedAlerts(
  deps: AlertAdminDeps,
  input: { extraAttempts: number; actor: string; metadata?: JsonObject },
): Promise<number> {
  const rows = await deps.queries.failedRows(input.extraAttempts);
  if (rows.length === 0) return 0;
  const event: AlertsRetried = {
    type: 'AlertsRetried',
    data: {
      rows,
      extra_attempts: input.extraAttempts,
      actor: input.actor,
      at: (deps.clock?.() ?? new Date()).toISOString(),
    },
  };
  return appendAdminAction(deps, { ...event, metadata: input.metadata ?? {} });
}

export async function purgeAlerts(
  deps: AlertAdminDeps,
  input: { days: number; statuses: ReadonlyArray<'sent' | 'failed'>; actor: string; metadata?: JsonObject },
): Promise<number> {
  const now = deps.clock?.() ?? new Date();
  const event: AlertsPurged = {
    type: 'AlertsPurged',
    data: {
      before: new Date(now.getTime() - input.days * 86_400_000).toISOString(),
      statuses: [...input.statuses],
      actor: input.actor,
      at: now.toISOString(),
    },
  };
  return appendAdminAction(deps, { ...event, metadata: input.metadata ?? {} });
}

async function appendAdminAction(deps: AlertAdminDeps, event: NewEvent): Promise<number> {
  const { applied } = await inTransaction(deps.pool, (tx) =>
    appendInline(tx, deps.store, alertQueueProjection, ALERT_ADMIN_STREAM, [event], {
      apply: applyAdminActions,
    }),
  );
  return applied;
}
