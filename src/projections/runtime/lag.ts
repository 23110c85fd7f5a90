import type pg from 'pg';

export interface ProjectionStatus {
  name: string;
  transactionId: string;
  globalPosition: number;
  updatedAt: Date;
  /** Committed events past the checkpoint (capped at 100 000 to keep the query cheap). */
  lagEvents: number;
  /** Age of the oldest event past the checkpoint; 0 when caught up. */
  lagSeconds: number;
  /** Set while the projection is stuck: the last failure, cleared when its checkpoint next moves. */
  failure: { message: string; eventId: string | null; at: Date; count: number } | null;
}

export async function projectionStatuses(db: pg.Pool | pg.ClientBase): Promise<ProjectionStatus[]> {
  const { rows } = await db.query<{
    name: string;
    transaction_id: string;
    global_position: string;
    updated_at: Date;
    lag_events: string;
    lag_seconds: number | null;
    failure_message: string | null;
    failure_event_id: string | null;
    failure_at: Date | null;
    failure_count: number;
  }>(
    `select c.name, c.transaction_id::text, c.global_position, c.updated_at,
            c.failure_message, c.failure_event_id, c.failure_at, c.failure_count,
            (select count(*) from (
               select 1 from es_events e
                where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                limit 100000) pending) as lag_events,
            (select extract(epoch from now() - min(e.recorded_at))::float8 from (
               select recorded_at from es_events e
                where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                order by e.transaction_id, e.global_position limit 1) e) as lag_seconds
       from projection_checkpoints c order by c.name`,
  );
  return rows.map((r) => ({
    name: r.name,
    transactionId: r.transaction_id,
    globalPosition: Number(r.global_position),
    updatedAt: r.updated_at,
    lagEvents: Number(r.lag_events),
    lagSeconds: Math.max(0, r.lag_seconds ?? 0),
    failure:
      r.failure_message !== null && r.failure_at !== null
        ? {
            message: r.failure_message,
            eventId: r.failure_event_id,
            at: r.failure_at,
            count: r.failure_count,
          }
        : null,
  }));
}
