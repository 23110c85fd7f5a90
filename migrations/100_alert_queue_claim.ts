import type { Knex } from 'knex';

/**
 * alert_queue_claim: a delivery worker's claim of the next due rows (issue #13), replacing the CTE the
 * worker sent. Measured before (bench alerts, auto_explain): 5.5 ms per 50-row claim, the largest cost of
 * a batch, because with the queue's statistics taken while it was small the planner read EVERY due row
 * through a bitmap scan of alert_queue_due (1 900 rows, 5 500 index entries with the dead ones) and sorted
 * them to keep 50 — each claim's cost grew with the backlog, and each of N workers paid it.
 *
 * - alert_queue_claimable: the rows a worker may claim (routed and pending), in claim order, so a claim
 *   walks the index from its head and stops after `p_limit` rows it could lock: its cost is the batch, the
 *   rows other workers hold (skipped, locked or leased) and not the backlog. It replaces alert_queue_due
 *   (next_attempt_at of every pending row, routed or not), which nothing else reads.
 * - The function plans with bitmap and sequential scans off: on stale statistics (a queue's size swings
 *   from 0 to thousands between two ANALYZEs) the cheapest-looking plan is the one that reads the whole
 *   backlog. Planner switches add their penalty to the cost, so JIT is off too: past jit_above_cost it
 *   compiled the claim each time (600 ms a claim, measured).
 * - fillfactor 80: a claim sets claimed_until / claimed_by, which no index covers, so with room on the page
 *   it is a HOT update (no index entries): the lease costs one heap write.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create index alert_queue_claimable on alert_queue (next_attempt_at, created_at, id)
      where status = 'pending' and target is not null;
    drop index alert_queue_due;
    alter table alert_queue set (fillfactor = 80);

    create function alert_queue_claim(p_now timestamptz, p_limit integer, p_lease_ms integer, p_worker text)
    returns table (
      id text, intent_key text, alert_type text, incident_id text, target text, attempts integer,
      max_attempts integer, facts jsonb, own_facts jsonb
    )
    language plpgsql
    set enable_bitmapscan = off
    set enable_seqscan = off
    set jit = off
    as $fn$
    #variable_conflict use_column
    begin
      return query
        with due as (
          select q.id from alert_queue q
           where q.status = 'pending' and q.target is not null and q.next_attempt_at <= p_now
             and (q.claimed_until is null or q.claimed_until < p_now)
           order by q.next_attempt_at, q.created_at, q.id
           limit p_limit
           for update skip locked),
        claimed as (
          update alert_queue q
             set claimed_until = p_now + make_interval(secs => p_lease_ms / 1000.0), claimed_by = p_worker
            from due where q.id = due.id
          returning q.id, q.intent_key, q.alert_type, q.incident_id, q.target, q.attempts, q.max_attempts,
                    q.facts, q.next_attempt_at, q.created_at)
        -- In queue order: a batch's POST carries its alerts in the order they were queued. The incident's
        -- facts (what its alerts render from) joined once per row.
        select c.id, c.intent_key, c.alert_type, c.incident_id, c.target, c.attempts, c.max_attempts,
               case when f.incident_id is not null then
                 jsonb_build_object('breaker', f.breaker, 'tenant_id', f.tenant_id, 'instance', f.instance,
                                    'trip', f.trip, 'closed', f.closed)
               end,
               c.facts
          from claimed c left join alert_firing f on f.incident_id = c.incident_id
         order by c.next_attempt_at, c.created_at, c.id;
    end
    $fn$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    drop function if exists alert_queue_claim(timestamptz, integer, integer, text);
    create index alert_queue_due on alert_queue (next_attempt_at) where status = 'pending';
    drop index if exists alert_queue_claimable;
    alter table alert_queue reset (fillfactor);
  `);
}
