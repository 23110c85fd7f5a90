import { CANARY_ACTOR, breakerId } from '../../domain/breaker';
import type { CanaryReport } from '../../domain/canary/canaryReport';
import type { BreakerCommandService } from '../breaker/breakerCommandService';
import { DEFAULT_BREAKER } from '../../projections/breaker/breakerStateCache';

/** The breaker the canary judges: the global costsim_v2 (docs/domain.md §6). */
export const CANARY_BREAKER = breakerId(DEFAULT_BREAKER);

/** A run's verdict as a ReportCanaryRun command to the global costsim_v2 breaker. */
export const reportCanaryToBreaker =
  (service: BreakerCommandService, actor = CANARY_ACTOR) =>
  async (report: CanaryReport): Promise<void> => {
    await service.execute(CANARY_BREAKER, (now, incidentId) => ({
      type: 'ReportCanaryRun',
      run_id: report.run_id,
      status: report.status,
      failed_on_outliers_only: report.failed_on_outliers_only,
      actor,
      incident_id: incidentId,
      now,
    }));
  };
