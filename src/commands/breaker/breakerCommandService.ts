import type { Counter, Registry } from 'prom-client';
import type { Logger } from '../../infra/logging/logger';
import { Counter as PromCounter } from 'prom-client';
import {
  type BreakerCommand,
  type BreakerEvent,
  type BreakerPolicy,
  type BreakerState,
  type BreakerId,
  breakerStream,
  createBreakerDecider,
  severities,
  summarizeDecision,
  tripTriggers,
} from '../../domain/breaker';
import type { EventStore, JsonObject, StreamAppend } from '../../infra/eventStore/eventStore';
import {
  type CommandOutcome,
  type CompanionsOutcome,
  DeciderCommandRunner,
  type RunOptions,
  type SnapshotOptions,
} from '../deciderCommandRunner';
import { randomIdGenerator } from '../randomIds';

/**
 * Names the shape of the breaker state in snapshots (BreakerState and what evolve makes of it). Change it
 * with any change to either, and snapshots written by older code are ignored instead of misread.
 * /3: BreakerState is a union (closed | open, half-open a sub-state of open, open-only fields typed
 * non-null on open); /2 states could hold combinations the union does not allow, so they are replayed.
 */
export const BREAKER_SNAPSHOT_SCHEMA = 'breaker-state/3';

/** 12 URL-safe characters (docs/domain.md §3 incident ids). */
export const newIncidentId = randomIdGenerator(9);

/** The breaker a command is for. */
export type BreakerRef = BreakerId;

export type BreakerOutcome = CommandOutcome<BreakerEvent, BreakerState> &
  ReturnType<typeof summarizeDecision>;

export interface BreakerCounters {
  disabled: Counter<'reason' | 'severity'>;
  enabled: Counter<'reason'>;
  incidents: Counter<'severity'>;
  autoRecovered: Counter;
}

export function registerBreakerCounters(registry: Registry): BreakerCounters {
  const registers = [registry];
  const counters: BreakerCounters = {
    disabled: new PromCounter({
      name: 'costsim_cb_disabled_total',
      help: 'Breaker openings written by this instance; reason = trigger (manual, drift, schema_errors, canary)',
      labelNames: ['reason', 'severity'],
      registers,
    }),
    enabled: new PromCounter({
      name: 'costsim_cb_enabled_total',
      help: 'Breaker closings written by this instance; reason = manual or auto_recover',
      labelNames: ['reason'],
      registers,
    }),
    incidents: new PromCounter({
      name: 'costsim_cb_incidents_total',
      help: 'Incidents opened by this instance',
      labelNames: ['severity'],
      registers,
    }),
    autoRecovered: new PromCounter({
      name: 'costsim_cb_auto_recovery_total',
      help: 'TTL recoveries written by this instance',
      registers,
    }),
  };
  // Every series exists from the start at 0, so increase() and rate() see the first trip (a series born at
  // 1 has no earlier sample to rise from) and a dashboard shows 0 rather than "no data".
  for (const severity of severities) {
    counters.incidents.inc({ severity }, 0);
    for (const reason of tripTriggers) counters.disabled.inc({ reason, severity }, 0);
  }
  for (const reason of ['manual', 'auto_recover']) counters.enabled.inc({ reason }, 0);
  counters.autoRecovered.inc(0);
  return counters;
}

/** The breaker's command side: builds commands with time and ids, runs them, counts what happened. */
export class BreakerCommandService {
  readonly runner: DeciderCommandRunner<BreakerCommand, BreakerEvent, BreakerState>;

  constructor(
    store: EventStore,
    readonly policy: BreakerPolicy,
    private readonly options: {
      counters?: BreakerCounters;
      clock?: () => Date;
      snapshots?: Omit<SnapshotOptions, 'schema'>;
      /** Commands waiting per breaker before new ones are refused (StreamOverloadedError → 503). */
      maxQueue?: number;
      /** Recorded in every event's metadata: alerts label an incident with the instance that opened it. */
      instance?: string;
      /**
       * Told each breaker state proved current, before the command is answered: how this replica's V2
       * gate has its own changes at once (BreakerStateCache.learn).
       */
      onCurrentState?: (stream: string, state: BreakerState, version: number) => void;
      /** One structured line per transition (trip, amend, enable, recovery). */
      logger?: Logger;
    } = {},
  ) {
    const { clock, snapshots, maxQueue, onCurrentState } = options;
    this.runner = new DeciderCommandRunner(store, createBreakerDecider(policy), {
      ...(clock ? { clock } : {}),
      ...(maxQueue !== undefined ? { maxQueue } : {}),
      ...(onCurrentState ? { onCurrentState } : {}),
      ...(snapshots && snapshots.every > 0
        ? { snapshots: { ...snapshots, schema: BREAKER_SNAPSHOT_SCHEMA } }
        : {}),
    });
  }

  async execute(
    ref: BreakerRef,
    build: (now: Date, incidentId: string) => BreakerCommand,
    options: RunOptions & { metadata?: JsonObject } = {},
  ): Promise<BreakerOutcome> {
    const stream = breakerStream(ref);
    const outcome = await this.runner.run(stream, (now) => build(now, newIncidentId()), {
      ...options,
      metadata: this.metadataOf(ref, options.metadata),
    });
    this.count(outcome.events);
    this.log(ref, outcome.events);
    return { ...outcome, ...summarizeDecision(outcome.events) };
  }

  /**
   * execute, with `companions` (events for new streams of their own) stored in the same append as the
   * command's batch (DeciderCommandRunner.runWith): the sandbox's provenance record with its drift
   * observation, one commit for both. Each outcome is its own: the command's, and the companions'.
   */
  async executeWith(
    ref: BreakerRef,
    build: (now: Date, incidentId: string) => BreakerCommand,
    companions: readonly StreamAppend[],
    options: RunOptions & { metadata?: JsonObject } = {},
  ): Promise<{ command: PromiseSettledResult<BreakerOutcome>; companions: CompanionsOutcome }> {
    const result = await this.runner.runWith(
      breakerStream(ref),
      (now) => build(now, newIncidentId()),
      companions,
      { ...options, metadata: this.metadataOf(ref, options.metadata) },
    );
    if (result.command.status === 'rejected')
      return { command: result.command, companions: result.companions };
    const outcome = result.command.value;
    this.count(outcome.events);
    this.log(ref, outcome.events);
    return {
      command: { status: 'fulfilled', value: { ...outcome, ...summarizeDecision(outcome.events) } },
      companions: result.companions,
    };
  }

  private metadataOf(ref: BreakerRef, metadata: JsonObject | undefined): JsonObject {
    return {
      ...metadata,
      breaker: ref.name,
      tenant_id: ref.tenantId,
      ...(this.options.instance ? { instance: this.options.instance } : {}),
    };
  }

  private log(ref: BreakerRef, events: readonly BreakerEvent[]): void {
    const logger = this.options.logger;
    if (!logger) return;
    const who = { breaker: ref.name, tenant_id: ref.tenantId };
    for (const e of events) {
      if (e.type === 'BreakerTripped') {
        const { incident_id, severity, trigger, reason, disabled_until, actor, drift_score } = e.data;
        logger.warn(
          {
            ...who,
            event: e.type,
            incident_id,
            severity,
            trigger,
            reason,
            disabled_until,
            actor,
            drift_score,
          },
          'breaker tripped: V2 disabled',
        );
      } else if (e.type === 'BreakerDisableAmended') {
        const { incident_id, reason, previous_reason, disabled_until, actor } = e.data;
        logger.info(
          { ...who, event: e.type, incident_id, reason, previous_reason, disabled_until, actor },
          'breaker disable amended',
        );
      } else if (e.type === 'BreakerEnabled' || e.type === 'BreakerAutoRecovered') {
        const { incident_id, resolved_by, resolution_notes } = e.data;
        logger.info(
          { ...who, event: e.type, incident_id, resolved_by, resolution_notes },
          e.type === 'BreakerEnabled'
            ? 'breaker enabled: V2 re-enabled'
            : 'breaker auto-recovered: V2 re-enabled',
        );
      }
    }
  }

  private count(events: readonly BreakerEvent[]): void {
    const counters = this.options.counters;
    if (!counters) return;
    for (const e of events) {
      if (e.type === 'BreakerTripped') {
        counters.disabled.inc({ reason: e.data.trigger, severity: e.data.severity });
        counters.incidents.inc({ severity: e.data.severity });
      } else if (e.type === 'BreakerEnabled') {
        counters.enabled.inc({ reason: 'manual' });
      } else if (e.type === 'BreakerAutoRecovered') {
        counters.enabled.inc({ reason: 'auto_recover' });
        counters.autoRecovered.inc();
      }
    }
  }
}
