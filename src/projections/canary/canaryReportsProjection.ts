import type pg from 'pg';
import type { CanaryRunCompleted } from '../../domain/canary/canaryEvents';
import { type Decoded, type Projection, defineProjection, neverPark } from '../projection';

/**
 * canary_reports from CanaryRunCompleted: the report as the event carries it. Idempotent by run id, so a
 * rebuild gives the same rows as the live table.
 */
export const canaryReportsProjection: Projection = defineProjection<CanaryRunCompleted>({
  name: 'canary_reports',
  handles: ['CanaryRunCompleted'],
  tables: ['canary_reports'],
  // Our own events: never parked (a report that cannot be stored is a bug to see, not to skip).
  mayPark: neverPark,
  async apply(tx: pg.ClientBase, events: readonly Decoded<CanaryRunCompleted>[]) {
    for (const { event } of events) {
      const { report } = event.data;
      await tx.query(
        `insert into canary_reports (run_id, status, passed, trigger, started_at, completed_at, total_samples,
                                     kl_divergence, report)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict (run_id) do nothing`,
        [
          report.run_id,
          report.status,
          report.passed,
          report.trigger,
          report.started_at,
          report.timestamp,
          report.total_samples,
          report.kl_divergence,
          JSON.stringify(report),
        ],
      );
    }
  },
});
