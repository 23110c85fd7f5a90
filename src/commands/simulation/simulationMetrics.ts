import { Counter, Histogram, type Registry } from 'prom-client';
import type { Verdict } from '../../domain/simulation/comparison';

/** `engine` label values (bounded). */
export type SimulationEngine = 'v1' | 'v2_builtin' | 'v2_http';

/**
 * `status` label values of costsim_v2_simulations_total (bounded): the V2 answer's own status when it
 * answered (success | error | schema_error, the original's statuses), else why there was no answer.
 */
export type V2SimulationStatus =
  | 'success'
  | 'error'
  | 'schema_error'
  | 'invalid_answer'
  | 'timeout'
  | 'http_error'
  | 'unreachable'
  | 'failed'
  | 'disabled';

/**
 * The simulation's metrics, recorded where V1 and V2 are compared (docs/simulation.md). No tenant or
 * breaker labels: every series stays bounded whatever the traffic.
 */
export class SimulationMetrics {
  readonly driftScore: Histogram;
  readonly costDelta: Histogram;
  readonly verdicts: Counter<'verdict'>;
  readonly duration: Histogram<'engine'>;
  readonly simulations: Counter<'status'>;
  readonly schemaErrors: Counter;

  constructor(registry: Registry, bounds: { warning: number; drift: number }) {
    const registers = [registry];
    // The verdict bounds are buckets too, so the histogram says how many pairs fell on each side of them.
    const driftBuckets = [
      ...new Set([0.01, 0.05, 0.1, bounds.warning, bounds.drift, 0.3, 0.4, 0.5, 0.6, 0.8, 1]),
    ]
      .filter((b) => b > 0)
      .sort((a, b) => a - b);
    this.driftScore = new Histogram({
      name: 'costsim_v2_drift_score',
      help: 'Drift score of each V1/V2 comparison (0 = same answer, 1 = completely different)',
      buckets: driftBuckets,
      registers,
    });
    this.costDelta = new Histogram({
      name: 'costsim_v2_cost_delta_cents',
      help: 'V2 cost minus V1 cost of each comparison, in cents (negative: V2 cheaper)',
      buckets: [-1000, -100, -50, -10, -5, -1, 0, 1, 5, 10, 50, 100, 1000],
      registers,
    });
    this.verdicts = new Counter({
      name: 'costsim_v2_comparison_verdict_total',
      help: 'V1/V2 comparisons by verdict (match, minor_drift, major_drift, mismatch)',
      labelNames: ['verdict'],
      registers,
    });
    this.duration = new Histogram({
      name: 'costsim_v2_simulation_duration_seconds',
      help: 'Time one simulation took, by engine (v1, v2_builtin, v2_http)',
      labelNames: ['engine'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5],
      registers,
    });
    this.simulations = new Counter({
      name: 'costsim_v2_simulations_total',
      help: 'V2 runs in the sandbox by outcome: the answer status, or timeout/http_error/unreachable/invalid_answer/failed/disabled',
      labelNames: ['status'],
      registers,
    });
    this.schemaErrors = new Counter({
      name: 'costsim_v2_schema_errors_total',
      help: 'External V2 answers that failed the schema (each reported to the breaker)',
      registers,
    });
    // Series that exist from the start, so rate() and absent() work before the first event.
    for (const v of ['match', 'minor_drift', 'major_drift', 'mismatch'] satisfies Verdict[])
      this.verdicts.inc({ verdict: v }, 0);
  }

  observeComparison(verdict: Verdict, drift: number, costDelta: number): void {
    this.driftScore.observe(drift);
    this.costDelta.observe(costDelta);
    this.verdicts.inc({ verdict });
  }

  /** Seconds since `startedMs` (performance.now()). */
  observeDuration(engine: SimulationEngine, startedMs: number): void {
    this.duration.observe({ engine }, (performance.now() - startedMs) / 1000);
  }
}
