import type pg from 'pg';
import type { AlertDelivered } from '../../domain/alerts/alertDeliveryEvents';
import { type BreakerEvent, breakerIdOfStream } from '../../domain/breaker';
import {
  type Decoded,
  type EventRange,
  type Projection,
  type RangeStatement,
  defineProjection,
  eventRangeCondition,
  neverPark,
} from '../projection';

/**
 * cb_incidents: one row per trip, opened by BreakerTripped and resolved by an enable or a recovery; its
 * alert is marked sent when the incident's firing alert reached an Alertmanager (docs/domain.md §4).
 */
export const cbIncidentsProjection: Projection = defineProjection<BreakerEvent | AlertDelivered>({
  name: 'cb_incidents',
  handles: [
    'BreakerTripped',
    'BreakerDisableAmended',
    'BreakerEnabled',
    'BreakerAutoRecovered',
    'AlertDelivered',
  ],
  tables: ['cb_incidents'],
  mayPark: neverPark,
  // One AlertDelivered per alert sent: runs of them are applied in SQL from the stored rows (the lane reads
  // their positions only), the breaker events around them through `apply`, in order.
  rangeTypes: ['AlertDelivered'],
  rangeStatement: alertsSentInRange,
  async apply(tx: pg.ClientBase, events: readonly Decoded<BreakerEvent | AlertDelivered>[]) {
    // Deliveries in a row (a delivery batch's outcomes: 50 events or more) are marked with one statement
    // at the next breaker event or at the end, instead of one round trip each; in order with the breaker
    // events, as an incident's row must exist before its alert is marked.
    let delivered: Array<{ id: string; at: string }> = [];
    const flush = async () => {
      if (delivered.length > 0) await markAlertsSent(tx, delivered);
      delivered = [];
    };
    for (const stored of events) {
      const { event } = stored;
      if (event.type === 'AlertDelivered') {
        const d = event.data;
        if (d.alert_type === 'disable' && d.incident_id) delivered.push({ id: d.incident_id, at: d.at });
        continue;
      }
      await flush();
      const id = breakerIdOfStream(stored.streamName);
      if (!id) continue;
      switch (event.type) {
        case 'BreakerTripped': {
          const d = event.data;
          await tx.query(
            `insert into cb_incidents (id, breaker, tenant_id, timestamp, reason, severity, trigger, drift_score,
                                       sample_count, details, stream_version)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             on conflict (id) do nothing`,
            [
              d.incident_id,
              id.name,
              id.tenantId,
              d.at,
              d.reason,
              d.severity,
              d.trigger,
              d.drift_score,
              d.sample_count,
              JSON.stringify(d.details ?? {}),
              stored.streamVersion,
            ],
          );
          break;
        }
        case 'BreakerEnabled':
        case 'BreakerAutoRecovered': {
          const d = event.data;
          await tx.query(
            `update cb_incidents set resolved = true, resolved_at = $2, resolved_by = $3, resolution_notes = $4,
                    stream_version = $5
              where id = $1 and stream_version < $5`,
            [d.incident_id, d.at, d.resolved_by, d.resolution_notes, stored.streamVersion],
          );
          break;
        }
        case 'BreakerDisableAmended':
          // The incident keeps its original reason; the amendment is visible in cb_state and the history.
          await tx.query(
            `update cb_incidents set stream_version = $2 where id = $1 and stream_version < $2`,
            [event.data.incident_id, stored.streamVersion],
          );
          break;
        default:
          break;
      }
    }
    await flush();
  },
});

/** markAlertsSent for the disable alerts delivered in a range, straight from the stored rows. */
function alertsSentInRange(range: EventRange): RangeStatement {
  const inRange = eventRangeCondition(range);
  return {
    text: `update cb_incidents c set alert_sent = true, alert_sent_at = coalesce(c.alert_sent_at, d.at)
         from (select distinct on (e.data->>'incident_id') e.data->>'incident_id' as id,
                      (e.data->>'at')::timestamptz as at
                 from es_events e
                where ${inRange.text}
                  and e.data->>'alert_type' = 'disable' and coalesce(e.data->>'incident_id', '') <> ''
                order by e.data->>'incident_id', e.transaction_id, e.global_position) d
        where c.id = d.id`,
    values: inRange.values,
  };
}

/**
 * An incident's alert is sent from its first delivery on: alert_sent_at keeps the earliest time it was
 * marked with, as applying the deliveries one by one in order would (the first one found it null).
 */
async function markAlertsSent(tx: pg.ClientBase, delivered: ReadonlyArray<{ id: string; at: string }>) {
  await tx.query(
    `update cb_incidents c set alert_sent = true, alert_sent_at = coalesce(c.alert_sent_at, d.at)
       from (select distinct on (r.id) r.id, r.at
               from unnest($1::text[], $2::timestamptz[]) with ordinality as r(id, at, n)
              order by r.id, r.n) d
      where c.id = d.id`,
    [delivered.map((d) => d.id), delivered.map((d) => d.at)],
  );
}
