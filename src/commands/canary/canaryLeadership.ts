import { Cron } from 'croner';
import type { Logger } from 'pino';
import {
  type CanaryReport,
  LEADER_SKIP_REASON,
  errorReport,
  leaderSkipReport,
} from '../../domain/canary/canaryReport';
import { abortableSleep } from '../../infra/abortableSleep';
import { type Leadership, LeaderElector } from '../../infra/postgres/leaderElector';
import { connectDedicated } from '../../infra/postgres/pool';
import { deterministicUuid } from '../deterministicUuid';
import { CanaryAlreadyRunError, type CanaryRunRequest, type CanaryRunner } from './canaryRunner';

export const IN_PROGRESS_REASON = 'Skipped: a canary run is already in progress on this instance';
export const DISABLED_REASON = 'Skipped: the canary is disabled (COSTSIM_CANARY_ENABLED=false)';

/** A report that is answered, never recorded: nothing ran. */
function skipped(runner: CanaryRunner, request: CanaryRunRequest, reason: string): CanaryReport {
  const now = new Date();
  const facts = {
    runId: request.runId ?? 'none',
    trigger: request.trigger,
    startedAt: now,
    completedAt: now,
  };
  if (reason === LEADER_SKIP_REASON) return leaderSkipReport(facts, runner.thresholds);
  return { ...errorReport(facts, runner.thresholds, reason), status: 'skipped' };
}

/** The run id of a schedule slot: every replica derives the same one, so a slot runs once. */
export const scheduledRunId = (slot: Date): string =>
  deterministicUuid(`canary-schedule:${slot.toISOString()}`);

/** Longest single wait, so a changed clock (suspend, NTP step) is noticed within it. */
const MAX_WAIT_MS = 60_000;

/**
 * Exactly one replica runs the canary (docs/domain.md §6, §7): the one holding advisory lock 7001 on a
 * dedicated connection (LeaderElector). The leader runs the schedule (COSTSIM_CANARY_SCHEDULE in
 * COSTSIM_CANARY_TZ) and on-demand runs; a replica that does not lead answers a run request with
 * `skipped` and the original's reason "Skipped: another instance is the leader". Losing leadership aborts a
 * run in flight (it completes as `error`).
 */
export class CanaryLeadership {
  private readonly elector: LeaderElector;
  private leadership: Leadership | null = null;
  private inFlight = false;

  constructor(
    private readonly options: {
      connectionString: string;
      lockId: number;
      runner: CanaryRunner;
      enabled: boolean;
      schedule: string;
      timeZone: string;
      scheduledSampleCount: number;
      /** datasets of scheduled and recovery runs (COSTSIM_CANARY_DATASETS): null = all */
      scheduledDatasets: readonly string[] | null;
      /**
       * Recovery gate: while leading, `halfOpen()` is polled every `pollMs`; a key (the incident and its
       * expired TTL) means costsim_v2 is half-open and waits for a canary run, which is run once per key.
       */
      recovery?: { halfOpen: () => string | null; pollMs: number };
      retryMs?: number;
      logger?: Logger;
    },
  ) {
    this.elector = new LeaderElector(options.connectionString, options.lockId, 'canary', {
      ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
      onChange: (leader) =>
        options.logger?.info(
          { job: 'canary', lock_id: options.lockId, leader },
          `canary: ${leader ? 'leading' : 'standing by'}`,
        ),
      onError: (err) => options.logger?.warn({ err }, 'canary: leader election error'),
    });
  }

  get isLeader(): boolean {
    return this.leadership !== null;
  }

  start(): void {
    if (!this.options.enabled) return;
    this.elector.start(async (leadership) => {
      this.leadership = leadership;
      try {
        await Promise.all([this.runSchedule(leadership.signal), this.runRecoveries(leadership.signal)]);
      } finally {
        this.leadership = null;
      }
    });
  }

  stop(): Promise<void> {
    return this.options.enabled ? this.elector.stop() : Promise.resolve();
  }

  /** An on-demand run (POST /costsim/canary/run): on the leader only, one at a time. */
  async runNow(request: CanaryRunRequest): Promise<CanaryReport> {
    const { runner } = this.options;
    runner.selectDatasets(request.datasetIds); // an unknown dataset is refused first, wherever it is asked
    if (!this.options.enabled) return skipped(runner, request, DISABLED_REASON);
    const leadership = this.leadership;
    if (!leadership) return skipped(runner, request, LEADER_SKIP_REASON);
    return this.exclusive(request, leadership.signal);
  }

  private async exclusive(request: CanaryRunRequest, signal: AbortSignal): Promise<CanaryReport> {
    if (this.inFlight) return skipped(this.options.runner, request, IN_PROGRESS_REASON);
    this.inFlight = true;
    try {
      return await this.options.runner.run(request, signal);
    } finally {
      this.inFlight = false;
    }
  }

  private async runRecoveries(signal: AbortSignal): Promise<void> {
    const recovery = this.options.recovery;
    if (!recovery) return;
    let decided: string | null = null;
    while (!signal.aborted) {
      const key = recovery.halfOpen();
      if (key !== null && key !== decided && !this.inFlight) {
        decided = key;
        this.options.logger?.info(
          { recovery: key },
          'canary: breaker half-open, running the recovery canary',
        );
        await this.exclusive(
          {
            sampleCount: this.options.scheduledSampleCount,
            datasetIds: this.options.scheduledDatasets,
            trigger: 'recovery',
          },
          signal,
        ).catch((err: unknown) => this.options.logger?.warn({ err }, 'canary: recovery run failed'));
      }
      await abortableSleep(recovery.pollMs, signal);
    }
  }

  private async runSchedule(signal: AbortSignal): Promise<void> {
    const cron = new Cron(this.options.schedule, { timezone: this.options.timeZone, paused: true });
    try {
      while (!signal.aborted) {
        const slot = cron.nextRun(new Date());
        if (!slot) return;
        // Sleep in bounded steps until the slot (a later slot is recomputed if the clock jumped).
        while (!signal.aborted && Date.now() < slot.getTime()) {
          await abortableSleep(Math.min(MAX_WAIT_MS, slot.getTime() - Date.now()), signal);
        }
        if (signal.aborted) return;
        const request: CanaryRunRequest = {
          sampleCount: this.options.scheduledSampleCount,
          datasetIds: this.options.scheduledDatasets,
          trigger: 'schedule',
          runId: scheduledRunId(slot),
          scheduledFor: slot,
        };
        await this.exclusive(request, signal).catch((err: unknown) => {
          if (err instanceof CanaryAlreadyRunError) {
            this.options.logger?.info({ run_id: err.runId }, 'canary: this slot already ran');
          } else {
            this.options.logger?.warn({ err }, 'canary: scheduled run failed');
          }
        });
      }
    } finally {
      cron.stop();
    }
  }
}

/**
 * A one-off run outside `serve` (the CLI): takes lock 7001 on a dedicated connection for the run, or answers
 * `skipped` with the leader reason when a running service (or another CLI) holds it.
 */
export async function runOnceIfLeader(
  connectionString: string,
  lockId: number,
  runner: CanaryRunner,
  request: CanaryRunRequest,
): Promise<CanaryReport> {
  runner.selectDatasets(request.datasetIds);
  const client = await connectDedicated(connectionString, 'costsim-guard-canary-cli');
  try {
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
      lockId,
    ]);
    if (!rows[0]?.locked) return skipped(runner, request, LEADER_SKIP_REASON);
    const lost = new AbortController();
    client.on('error', () => lost.abort());
    client.on('end', () => lost.abort());
    try {
      return await runner.run(request, lost.signal);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [lockId]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}
