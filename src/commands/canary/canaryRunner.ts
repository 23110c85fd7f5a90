import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  type CanaryRunCompleted,
  type CanaryRunStarted,
  canaryStream,
} from '../../domain/canary/canaryEvents';
import {
  type CanaryReport,
  type CanaryRunThresholds,
  type CanaryTrigger,
  errorReport,
  judgeCanaryRun,
} from '../../domain/canary/canaryReport';
import type { CanarySample } from '../../domain/canary/canaryStatistics';
import type { GoldenDataset } from '../../domain/canary/goldenDataset';
import {
  type GoldenOutcome,
  type GoldenValidationResult,
  validateGolden,
} from '../../domain/canary/goldenValidation';
import type { VerdictBounds } from '../../domain/simulation/comparison';
import { type V2Engine, type V2Outcome, v2ErrorText } from '../../domain/simulation/v2Engine';
import { type EventStore, WrongExpectedVersionError } from '../../infra/eventStore/eventStore';
import {
  type PricedInput,
  type PricedPair,
  goldenInputs,
  goldenOutcome,
  parseSandboxInput,
  pricePair,
  recentSandboxPages,
} from './canarySamples';

export interface CanaryRunRequest {
  /** recent sandbox inputs to sample, at most */
  sampleCount: number;
  /** null = every loaded dataset; [] = none */
  datasetIds: readonly string[] | null;
  trigger: CanaryTrigger;
  /** given for scheduled runs (derived from the slot, so a slot runs once); else a fresh one */
  runId?: string;
  /** the schedule slot a scheduled run is for */
  scheduledFor?: Date;
}

/** A dataset id that is not loaded: the request is refused before anything is written. */
export class DatasetNotFoundError extends Error {
  constructor(readonly datasetId: string) {
    super(`Dataset not found: ${datasetId}`);
    this.name = 'DatasetNotFoundError';
  }
}

/** The run id already has a stream: another replica (or an earlier attempt) ran this slot. */
export class CanaryAlreadyRunError extends Error {
  constructor(readonly runId: string) {
    super(`Canary run ${runId} was already started`);
    this.name = 'CanaryAlreadyRunError';
  }
}

class RunStopped extends Error {}

export interface CanaryRunnerDeps {
  pool: pg.Pool;
  store: EventStore;
  engine: V2Engine;
  datasets: () => ReadonlyMap<string, GoldenDataset>;
  bounds: VerdictBounds;
  thresholds: CanaryRunThresholds;
  maxRuntimeMs: number;
  instanceId: string;
  logger?: Logger;
  now?: () => Date;
  /** after CanaryRunCompleted is stored (metrics) */
  onReport?: (report: CanaryReport) => void;
  /**
   * Feeds a conclusive run (pass or fail) to the breaker through its canary threshold, after the report is
   * stored. Skipped and error runs are inconclusive and never reach the breaker.
   */
  reportToBreaker?: (report: CanaryReport) => Promise<void>;
}

/** Samples between two turns of the event loop: a 10 000-sample run never holds the replica for long. */
const YIELD_EVERY = 500;
const asIs = (input: PricedInput) => input;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One canary run (docs/domain.md §6): CanaryRunStarted, then recent sandbox inputs plus the golden datasets
 * priced by V1 and V2 and compared, judged, and CanaryRunCompleted carrying the whole report (thresholds
 * and statistics included). A run past COSTSIM_CANARY_MAX_RUNTIME_SECONDS, or whose leadership ends, or
 * on which V2 did not answer, completes as `error`: nothing half-done counts as a pass.
 */
export class CanaryRunner {
  private readonly now: () => Date;

  constructor(private readonly deps: CanaryRunnerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** who recorded the run (alerts name the instance) */
  private get metadata() {
    return { instance: this.deps.instanceId };
  }

  get thresholds(): CanaryRunThresholds {
    return this.deps.thresholds;
  }

  /** The datasets a request names (null = all), or DatasetNotFoundError for the first unknown id. */
  selectDatasets(ids: readonly string[] | null): GoldenDataset[] {
    const all = this.deps.datasets();
    if (ids === null) return [...all.values()];
    return ids.map((id) => {
      const found = all.get(id);
      if (!found) throw new DatasetNotFoundError(id);
      return found;
    });
  }

  async run(request: CanaryRunRequest, signal?: AbortSignal): Promise<CanaryReport> {
    const datasets = this.selectDatasets(request.datasetIds);
    const runId = request.runId ?? randomUUID();
    const startedAt = this.now();
    const stream = canaryStream(runId);
    // the first page of samples is read while the start is recorded (a refused run just drops it)
    const pages = recentSandboxPages(this.deps.pool, request.sampleCount);
    const started: CanaryRunStarted = {
      type: 'CanaryRunStarted',
      data: {
        run_id: runId,
        started_at: startedAt.toISOString(),
        trigger: request.trigger,
        sample_count: request.sampleCount,
        dataset_ids: request.datasetIds === null ? null : [...request.datasetIds],
        instance: this.deps.instanceId,
        ...(request.scheduledFor ? { scheduled_for: request.scheduledFor.toISOString() } : {}),
      },
    };
    try {
      await this.deps.store.append(stream, [{ ...started, metadata: this.metadata }], {
        expected: 'no_stream',
      });
    } catch (err) {
      if (err instanceof WrongExpectedVersionError) throw new CanaryAlreadyRunError(runId);
      throw err;
    }
    const deadline = startedAt.getTime() + this.deps.maxRuntimeMs;
    const facts = () => ({ runId, trigger: request.trigger, startedAt, completedAt: this.now() });
    let report: CanaryReport;
    try {
      report = await this.judge(runId, pages, datasets, facts, () => {
        if (signal?.aborted)
          throw new RunStopped('Canary run stopped: this instance lost leadership or is stopping');
        if (this.now().getTime() > deadline) {
          throw new RunStopped(
            `Canary run exceeded COSTSIM_CANARY_MAX_RUNTIME_SECONDS (${this.deps.maxRuntimeMs / 1000} s)`,
          );
        }
      });
    } catch (err) {
      if (!(err instanceof RunStopped)) this.deps.logger?.error({ err, run_id: runId }, 'canary run failed');
      const reason =
        err instanceof RunStopped ? err.message : 'Canary run failed: internal error (see the log)';
      report = errorReport(facts(), this.deps.thresholds, reason);
    }
    const completed: CanaryRunCompleted = { type: 'CanaryRunCompleted', data: { report } };
    await this.deps.store.append(stream, [{ ...completed, metadata: this.metadata }], { expected: 1 });
    this.deps.onReport?.(report);
    // A recovery run decides a half-open breaker whatever its outcome (skipped and error keep it open).
    const conclusive = report.status === 'pass' || report.status === 'fail';
    if (this.deps.reportToBreaker && (conclusive || request.trigger === 'recovery')) {
      await this.deps.reportToBreaker(report).catch((err: unknown) =>
        // the report stands; the breaker misses one observation (logged for the operator)
        this.deps.logger?.error({ err, run_id: runId }, 'canary run not reported to the breaker'),
      );
    }
    this.deps.logger?.info(
      {
        run_id: runId,
        status: report.status,
        samples: report.total_samples,
        reasons: report.failure_reasons,
      },
      'canary run completed',
    );
    return report;
  }

  private async judge(
    runId: string,
    pages: AsyncIterable<readonly (string | null)[]>,
    datasets: readonly GoldenDataset[],
    facts: () => { runId: string; trigger: CanaryTrigger; startedAt: Date; completedAt: Date },
    check: () => void,
  ): Promise<CanaryReport> {
    const samples: CanarySample[] = [];
    let priced = 0;
    let unanswered = 0;
    let firstFailure: string | null = null;
    const record = ({ outcome, sample }: PricedPair): V2Outcome => {
      if (sample) samples.push(sample);
      else if (outcome.kind !== 'answered') {
        unanswered++;
        firstFailure ??= v2ErrorText(outcome);
      }
      return outcome;
    };
    // An in-process V2 answers synchronously, so no await (no promise) per sample; the loop yields to the
    // event loop every YIELD_EVERY samples, where the time limit and leadership are checked.
    const priceAll = async <T>(
      items: readonly T[],
      toInput: (item: T) => PricedInput | null,
      each?: (o: V2Outcome) => void,
    ) => {
      let readable = 0;
      for (const item of items) {
        const input = toInput(item);
        if (!input) continue;
        readable++;
        if (++priced % YIELD_EVERY === 0) {
          await nextTurn();
          check();
        }
        const pair = pricePair(input, this.deps.engine, this.deps.bounds, runId);
        const outcome = record(pair instanceof Promise ? await pair : pair);
        each?.(outcome);
      }
      return readable;
    };
    let provenanceSamples = 0;
    for await (const page of pages) {
      check();
      // parsed one by one as priced: a stored input that no longer parses is left out
      provenanceSamples += await priceAll(page, parseSandboxInput);
    }
    const golden: GoldenValidationResult[] = [];
    for (const dataset of datasets) {
      const outcomes: GoldenOutcome[] = [];
      await priceAll(goldenInputs(dataset), asIs, (o) => outcomes.push(goldenOutcome(o)));
      golden.push(validateGolden(dataset, outcomes));
    }
    check();
    if (unanswered > 0) {
      return errorReport(
        facts(),
        this.deps.thresholds,
        `V2 did not answer ${unanswered} of ${priced} samples (first: ${firstFailure})`,
      );
    }
    return judgeCanaryRun(facts(), {
      samples,
      provenanceSamples,
      golden,
      thresholds: this.deps.thresholds,
    });
  }
}
