import type { Knex } from 'knex';
import * as eventStore from './001_event_store';
import * as breakerReadModels from './002_breaker_read_models';
import * as esAppendIndexPlans from './003_es_append_index_plans';
import * as esSnapshots from './004_es_snapshots';
import * as projectionFailures from './005_projection_failures';
import * as cbStateChanges from './006_cb_state_changes';
import * as alerts from './007_alerts';
import * as provenance from './008_provenance';
import * as esEventsTypeCommitOrder from './013_es_events_type_commit_order';
import * as esAppendInTransaction from './060_es_append_in_transaction';
import * as esAppendArrays from './061_es_append_arrays';
import * as esAppendStreamsInTx from './065_es_append_streams_in_tx';
import * as projectionBatchChecked from './070_projection_batch_checked';
import * as breakerDeclarations from './015_breaker_declarations';
import * as projectionIsolation from './009_projection_isolation';
import * as canaryReports from './020_canary_reports';
import * as driftRollup from './075_drift_rollup';
import * as esAppendWith from './085_es_append_with';
import * as alertQueueClaim from './100_alert_queue_claim';
import * as alertQueueDropIntentIndex from './101_alert_queue_drop_intent_index';
import * as esEventsBreakerFeed from './105_es_events_breaker_feed';

/**
 * Migrations are listed here rather than discovered on disk, so they load the same way under tsx, jest
 * and compiled output. Append new ones at the end; never edit one that has shipped.
 */
const migrations: ReadonlyArray<readonly [string, Knex.Migration]> = [
  ['001_event_store', eventStore],
  ['002_breaker_read_models', breakerReadModels],
  ['003_es_append_index_plans', esAppendIndexPlans],
  ['004_es_snapshots', esSnapshots],
  ['005_projection_failures', projectionFailures],
  ['006_cb_state_changes', cbStateChanges],
  ['007_alerts', alerts],
  ['008_provenance', provenance],
  ['013_es_events_type_commit_order', esEventsTypeCommitOrder],
  ['015_breaker_declarations', breakerDeclarations],
  // Appended after the ones main shipped first (a database may already have 013 and 015).
  ['009_projection_isolation', projectionIsolation],
  ['020_canary_reports', canaryReports],
  ['060_es_append_in_transaction', esAppendInTransaction],
  ['061_es_append_arrays', esAppendArrays],
  ['065_es_append_streams_in_tx', esAppendStreamsInTx],
  ['070_projection_batch_checked', projectionBatchChecked],
  ['075_drift_rollup', driftRollup],
  ['085_es_append_with', esAppendWith],
  ['100_alert_queue_claim', alertQueueClaim],
  ['101_alert_queue_drop_intent_index', alertQueueDropIntentIndex],
  ['105_es_events_breaker_feed', esEventsBreakerFeed],
];

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrations.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = migrations.find(([n]) => n === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

export const migrationNames = migrations.map(([name]) => name);
