import type { Config } from '../../infra/config/config';
import { DEFAULT_CANARY_THRESHOLDS } from '../../domain/canary/canaryStatistics';
import type { CanaryRunnerDeps } from './canaryRunner';

/**
 * What decides a canary run, from the configuration: the verdict bounds of each comparison, the judge's
 * thresholds (docs/domain.md §6, plus the optional paired-test rule) and the runtime bound. One place, so
 * a run started by the service and one started by the CLI are judged alike.
 */
export function canaryJudgeSettings(
  config: Config,
): Pick<CanaryRunnerDeps, 'bounds' | 'thresholds' | 'maxRuntimeMs'> {
  return {
    bounds: { warning: config.breaker.driftWarningThreshold, drift: config.breaker.driftThreshold },
    thresholds: { ...DEFAULT_CANARY_THRESHOLDS, paired_alpha: config.canary.pairedAlpha ?? null },
    maxRuntimeMs: config.canary.maxRuntimeSeconds * 1000,
  };
}
