import type { BreakerRecoveryDeferredData } from '../breaker/breakerEvents';
import type { AlertmanagerAlert } from './alertmanagerAlert';
import type { AlertSource } from './breakerAlerts';
import { runbookUrl } from './runbooks';

/** What a `canary_fail` intent renders from (kept on its queue row): the failed run, as its report says. */
export interface CanaryFailedFacts {
  readonly run_id: string;
  /** when the run completed */
  readonly timestamp: string;
  readonly failure_reasons: readonly string[];
  readonly total_samples: number;
  readonly kl_divergence: number;
  readonly instance: string;
}

/**
 * docs/domain.md §4: `CostSimCanaryFailed` (p2) with the run id and failure reasons. The run id is a label (one
 * alert per failed run: identifying, stable); the reasons are annotations. Nothing resolves a run, so the
 * alert lapses four resend intervals after it is SENT (not after the run: a delivery delayed by an
 * Alertmanager outage must still arrive active, or it is never notified).
 */
export function canaryFailedAlert(
  facts: CanaryFailedFacts,
  source: AlertSource,
  now: Date,
  resendIntervalSeconds: number,
): AlertmanagerAlert {
  return {
    labels: {
      alertname: 'CostSimCanaryFailed',
      severity: 'p2',
      component: 'costsim',
      run_id: facts.run_id,
      instance: facts.instance,
    },
    annotations: {
      summary: `CostSim canary run ${facts.run_id} failed`,
      description:
        `${facts.failure_reasons.join('; ')} (${facts.total_samples} samples, KL ${facts.kl_divergence}). ` +
        `Report: ${source.publicUrl}/costsim/canary/reports/${facts.run_id}`,
      runbook_url: runbookUrl(source.runbookUrl, 'canary-failed'),
      run_id: facts.run_id,
    },
    startsAt: facts.timestamp,
    endsAt: new Date(now.getTime() + 4 * resendIntervalSeconds * 1000).toISOString(),
    generatorURL: `${source.publicUrl}/costsim/canary/reports/${encodeURIComponent(facts.run_id)}`,
  };
}

/** What a `recovery_deferred` intent renders from: the breaker and the deferral as recorded. */
export interface RecoveryDeferredFacts {
  readonly breaker: string;
  readonly tenant_id: string | null;
  readonly instance: string;
  readonly deferred: BreakerRecoveryDeferredData;
}

/**
 * Recovery gate: a half-open breaker's canary did not pass, so V2 stays off and the TTL was extended. The
 * alert says why (the run and its status); it lapses four resend intervals after it is sent.
 */
export function recoveryDeferredAlert(
  facts: RecoveryDeferredFacts,
  source: AlertSource,
  now: Date,
  resendIntervalSeconds: number,
): AlertmanagerAlert {
  const d = facts.deferred;
  return {
    labels: {
      alertname: 'CostSimV2RecoveryBlocked',
      severity: 'p2',
      component: 'costsim',
      circuit_breaker: facts.breaker,
      ...(facts.tenant_id !== null ? { tenant_id: facts.tenant_id } : {}),
      instance: facts.instance,
    },
    annotations: {
      summary: `CostSim V2 stays disabled: the recovery canary ended ${d.run_status}`,
      description: `${d.reason}. Canary report: ${source.publicUrl}/costsim/canary/reports/${d.run_id}`,
      runbook_url: runbookUrl(source.runbookUrl, 'canary-failed'),
      run_id: d.run_id,
      ...(d.incident_id !== null ? { incident_id: d.incident_id } : {}),
    },
    startsAt: d.at,
    endsAt: new Date(now.getTime() + 4 * resendIntervalSeconds * 1000).toISOString(),
    generatorURL: `${source.publicUrl}/costsim/breakers/${encodeURIComponent(facts.breaker)}`,
  };
}
