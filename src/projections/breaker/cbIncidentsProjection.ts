import type pg from 'pg';
import type { AlertDelivered } from '../../domain/alerts/alertDeliveryEvents';
import { type BreakerEvent, breakerIdOfStream } from '../../domain/breaker';
import { type Decoded, type Projection, defineProjection, neverPark } from '../projection';

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
  async apply(tx: pg.ClientBase, events: readonly Decoded<BreakerEvent | AlertDelivered>[]) {
    for (const stored of events) {
      const { event } = stored;
      if (event.type === 'AlertDelivered') {
        const d = event.data;
        if (d.alert_type === 'disable' && d.incident_id) {
          await tx.query(
            `update cb_incidents set alert_sent = true, alert_sent_at = coalesce(alert_sent_at, $2) where id = $1`,
            [d.incident_id, d.at],
          );
        }
        continue;
      }
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
  },
});
