import type { Knex } from 'knex';

/**
 * The V2 gate's feed (readNewer: breaker events of transactions from a horizon on) gets an index of its
 * own, holding breaker events only.
 *
 * Why: the gate's read filters `event_type = any(<10 breaker types>) and transaction_id >= <horizon>`.
 * Served by es_events_type_commit_order that is ten index descents; es_events_commit_order looks cheaper
 * whenever the planner believes few rows lie past the horizon — which is what statistics gathered before
 * a flood say (the transaction_id histogram ends below the horizon). Then each read walks every event since
 * the horizon, provenance and all: 370 000 rows and ~110 ms where the right plan reads a handful in 0.1 ms,
 * and more with every record while the horizon is held back by any writing transaction in the cluster. The
 * gate fails closed past 1 s without a read, so under a provenance flood V2 went off and stayed off (CI,
 * test/e2e/gateUnderFlood). A partial index that holds exactly the gate's types is one descent and the
 * smallest index for the same estimate, so it wins with stale statistics and with fresh ones alike
 * (test/integration/breaker/gateReadPlan.test.ts), and appends of other events pay nothing for it.
 *
 * The types are written out: a migration is what the database was given, not a view of today's code.
 * A breaker event type added later needs a migration that rebuilds this index (the test above compares the
 * predicate with breakerEventTypes and fails until then).
 *
 * Built concurrently (outside a transaction) so a running service keeps appending while it builds; a build
 * that failed leaves an invalid index, which the drop clears before the next attempt.
 */
export const config = { transaction: false };

export const BREAKER_FEED_TYPES_105 = [
  'BreakerTripped',
  'BreakerDisableAmended',
  'BreakerEnabled',
  'BreakerAutoRecovered',
  'DriftObserved',
  'SchemaErrorsReported',
  'DriftTripSuppressed',
  'CanaryRunObserved',
  'BreakerHalfOpened',
  'BreakerRecoveryDeferred',
] as const;

export async function up(knex: Knex): Promise<void> {
  const types = BREAKER_FEED_TYPES_105.map((t) => `'${t}'`).join(', ');
  await knex.raw('drop index concurrently if exists es_events_breaker_feed');
  await knex.raw(
    `create index concurrently es_events_breaker_feed on es_events (transaction_id)
      where event_type = any (array[${types}]::text[])`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index concurrently if exists es_events_breaker_feed');
}
