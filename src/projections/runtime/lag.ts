import type pg from 'pg';

export interface ProjectionStatus {
  /** The projection's name, or `<name>@rebuild` for a rebuild in progress (its copies' checkpoint). */
  name: string;
  transactionId: string;
  globalPosition: number;
  updatedAt: Date;
  /**
   * Committed events of the types it handles past the checkpoint (capped at 100 000 to keep the query
   * cheap): a projection is never "behind" on events it does not read.
   */
  lagEvents: number;
  /** Age of the oldest such event; 0 when caught up. */
  lagSeconds: number;
  /** Set while the projection is stuck: the last failure, cleared when its checkpoint next moves. */
  failure: { message: string; eventId: string | null; at: Date; count: number } | null;
  /** Open dead letters (events it set aside). */
  deadLetters: number;
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
    dead_letters: number;
  }>(
    // Rows written before migration 009 have no `handles`: every event counts for them.
    `select c.name, c.transaction_id::text, c.global_position, c.updated_at,
            c.failure_message, c.failure_event_id, c.failure_at, c.failure_count,
            (select count(*) from (
               select 1 from es_events e
                where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                  and (c.handles is null or e.event_type = any(c.handles))
                limit 100000) pending) as lag_events,
            (select extract(epoch from now() - min(e.recorded_at))::float8 from (
               select recorded_at from es_events e
                where (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)
                  and (c.handles is null or e.event_type = any(c.handles))
                order by e.transaction_id, e.global_position limit 1) e) as lag_seconds,
            (select count(*)::int from projection_dead_letters d
              where d.projection = c.name and d.status = 'parked') as dead_letters
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
    deadLetters: r.dead_letters,
  }));
}
