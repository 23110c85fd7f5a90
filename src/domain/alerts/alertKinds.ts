import type { BreakerEvent } from '../breaker/breakerEvents';
import type { CanaryRunCompleted } from '../canary/canaryEvents';
import { DEFAULT_DECLARED_BREAKER } from '../breakerDeclaration/declarationEvents';
import type { AlertmanagerAlert } from './alertmanagerAlert';
import type { AlertSource, BreakerRef } from './breakerAlerts';
import {
  type CanaryFailedFacts,
  type RecoveryDeferredFacts,
  canaryFailedAlert,
  recoveryDeferredAlert,
} from './canaryAlerts';
import {
  type DriftWarningFacts,
  type IncidentAlertFacts,
  renderDriftWarning,
  renderQueuedAlert,
} from './renderQueuedAlert';

/**
 * Every kind of alert the service queues (docs/domain.md §4), as data: which events queue it, what facts its
 * intent keeps, the Alertmanager alertnames it sends and how it renders. The projection queues intents from
 * this table and the delivery worker renders from it, so a new kind is one entry here.
 */

/** The events an alert may be queued by. */
export type AlertTriggerEvent = BreakerEvent | CanaryRunCompleted;

/** Where the event was recorded, as the projection knows it. */
export interface AlertTriggerContext {
  /** The breaker whose stream holds the event; null for another stream's (a canary run's). */
  readonly breaker: BreakerRef | null;
  /** The instance that recorded it (its metadata), for the `instance` label. */
  readonly instance: string;
}

/** One queued intent, as the kind builds it from its event. */
export interface AlertIntent<Facts> {
  /** The breaker it is filed under (alert_queue.circuit_breaker_name / tenant_id). */
  readonly breaker: BreakerRef;
  readonly incidentId: string | null;
  /** Kept on the row for `own` facts; null for kinds rendered from the incident (alert_firing). */
  readonly facts: Facts | null;
}

/** What rendering needs besides the facts. */
export interface AlertRendering {
  readonly source: AlertSource;
  readonly now: Date;
  readonly resendIntervalSeconds: number;
}

interface AlertKindSpec<Type extends AlertTriggerEvent['type'], Facts> {
  /** The `alertname` labels it sends (the firing alert's first). */
  readonly alertnames: readonly string[];
  /**
   * `incident`: rendered from the incident's current facts (alert_firing), so a late send carries the
   * truth at send time; `own`: from the facts kept on its row.
   */
  readonly facts: 'incident' | 'own';
  readonly queuedBy: readonly Type[];
  /** The intent an event queues; null = none (a canary run that passed). */
  intent(
    event: Extract<AlertTriggerEvent, { type: Type }>,
    at: AlertTriggerContext,
  ): AlertIntent<Facts> | null;
  render(facts: Facts, rendering: AlertRendering): AlertmanagerAlert[];
}

const kind = <Type extends AlertTriggerEvent['type'], Facts>(spec: AlertKindSpec<Type, Facts>) => spec;

/** Canary alerts belong to no breaker's stream: they are filed under the breaker the canary judges. */
const CANARY_BREAKER: BreakerRef = { name: DEFAULT_DECLARED_BREAKER, tenant_id: null };

export const alertKinds = {
  disable: kind({
    alertnames: ['CostSimV2Disabled'],
    facts: 'incident',
    queuedBy: ['BreakerTripped'],
    intent: (event, at) =>
      at.breaker && { breaker: at.breaker, incidentId: event.data.incident_id, facts: null },
    render: (facts: IncidentAlertFacts, r) =>
      renderQueuedAlert('disable', facts, r.source, r.now, r.resendIntervalSeconds),
  }),
  enable: kind({
    alertnames: ['CostSimV2Disabled', 'CostSimV2Reenabled'],
    facts: 'incident',
    queuedBy: ['BreakerEnabled', 'BreakerAutoRecovered'],
    // An opening that alerted nothing (no incident) resolves nothing.
    intent: (event, at) =>
      at.breaker && event.data.incident_id !== null
        ? { breaker: at.breaker, incidentId: event.data.incident_id, facts: null }
        : null,
    render: (facts: IncidentAlertFacts, r) =>
      renderQueuedAlert('enable', facts, r.source, r.now, r.resendIntervalSeconds),
  }),
  drift_warning: kind<'DriftTripSuppressed', DriftWarningFacts>({
    alertnames: ['CostSimV2DriftWarning'],
    facts: 'own',
    queuedBy: ['DriftTripSuppressed'],
    intent: (event, at) =>
      at.breaker && {
        breaker: at.breaker,
        incidentId: null,
        facts: {
          breaker: at.breaker.name,
          tenant_id: at.breaker.tenant_id,
          instance: at.instance,
          drift: event.data,
        },
      },
    render: (facts, r) => renderDriftWarning(facts, r.source, r.resendIntervalSeconds),
  }),
  recovery_deferred: kind<'BreakerRecoveryDeferred', RecoveryDeferredFacts>({
    alertnames: ['CostSimV2RecoveryBlocked'],
    facts: 'own',
    queuedBy: ['BreakerRecoveryDeferred'],
    intent: (event, at) =>
      at.breaker && {
        breaker: at.breaker,
        incidentId: event.data.incident_id,
        facts: {
          breaker: at.breaker.name,
          tenant_id: at.breaker.tenant_id,
          instance: at.instance,
          deferred: event.data,
        },
      },
    render: (facts, r) => [recoveryDeferredAlert(facts, r.source, r.now, r.resendIntervalSeconds)],
  }),
  canary_fail: kind<'CanaryRunCompleted', CanaryFailedFacts>({
    alertnames: ['CostSimCanaryFailed'],
    facts: 'own',
    queuedBy: ['CanaryRunCompleted'],
    // Only a failed run alerts (docs/domain.md §4); an error or a pass queues nothing.
    intent: ({ data: { report } }, at) =>
      report.status !== 'fail'
        ? null
        : {
            breaker: CANARY_BREAKER,
            incidentId: null,
            facts: {
              run_id: report.run_id,
              timestamp: report.timestamp,
              failure_reasons: report.failure_reasons,
              total_samples: report.total_samples,
              kl_divergence: report.kl_divergence,
              instance: at.instance,
            },
          },
    render: (facts, r) => [canaryFailedAlert(facts, r.source, r.now, r.resendIntervalSeconds)],
  }),
} as const;

export type AlertKind = keyof typeof alertKinds;

const kindNames = Object.keys(alertKinds) as AlertKind[];

/**
 * A kind as the generic code calls it. Each entry is typed by its own event and facts; looked up by a name
 * known only at run time, it is called with the event its `queuedBy` matched, or the facts its row holds.
 */
type AnyAlertKind = AlertKindSpec<AlertTriggerEvent['type'], unknown>;
const kindOf = (name: AlertKind) => alertKinds[name] as unknown as AnyAlertKind;

/** The event types that queue some alert (the projection handles them). */
export const alertTriggerTypes: ReadonlyArray<AlertTriggerEvent['type']> = [
  ...new Set(kindNames.flatMap((k) => alertKinds[k].queuedBy)),
];

/** Every intent an event queues, with its kind. */
export function alertIntentsOf(
  event: AlertTriggerEvent,
  at: AlertTriggerContext,
): Array<{ kind: AlertKind; intent: AlertIntent<unknown> }> {
  const found: Array<{ kind: AlertKind; intent: AlertIntent<unknown> }> = [];
  for (const name of kindNames) {
    const spec = kindOf(name);
    if (!spec.queuedBy.includes(event.type)) continue;
    const intent = spec.intent(event, at);
    if (intent) found.push({ kind: name, intent });
  }
  return found;
}

/** A queue row's facts as stored: the incident's (alert_firing) and its own. */
export interface QueuedAlertFacts {
  readonly incident: IncidentAlertFacts | null;
  readonly own: unknown;
}

/** What a queued row sends now, rendered by its kind. */
export function renderAlert(
  alertType: string,
  facts: QueuedAlertFacts,
  rendering: AlertRendering,
): AlertmanagerAlert[] {
  if (!(alertType in alertKinds)) throw new Error(`unknown alert type ${alertType}`);
  const spec = kindOf(alertType as AlertKind);
  const chosen = spec.facts === 'incident' ? facts.incident : facts.own;
  if (!chosen) throw new Error(`no ${spec.facts} facts for a ${alertType} alert`);
  return spec.render(chosen, rendering);
}
