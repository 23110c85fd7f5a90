import type { BreakerPolicy } from '../../domain/breaker';
import type { Config } from '../../infra/config/config';

/** The breaker policy a configuration sets (docs/domain.md §3, §8): the service and the CLI decide alike. */
export function breakerPolicyFromConfig(config: Config): BreakerPolicy {
  return {
    driftThreshold: config.breaker.driftThreshold,
    failureThreshold: config.breaker.failureThreshold,
    schemaErrorThreshold: config.breaker.schemaErrorThreshold,
    autoDisable: config.breaker.autoDisable,
    autoRecover: config.breaker.autoRecover,
    disableTtlHours: config.breaker.disableTtlHours,
    canaryFailureThreshold: config.breaker.canaryFailureThreshold,
    recoveryRequiresCanary: config.breaker.recoveryRequiresCanary,
  };
}
