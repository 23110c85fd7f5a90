import { Counter, Gauge, type Registry } from 'prom-client';
import type { CanaryReport } from '../../domain/canary/canaryReport';
import type { GoldenValidationResult } from '../../domain/canary/goldenValidation';

/**
 * The canary's metrics (deploy/prometheus rules and the dashboard read them): runs by status, the last
 * run's KL divergence and completion time (so a rule catches "canary not running"), and the golden drift
 * score per dataset (labels bounded by the loaded datasets).
 */
export class CanaryMetrics {
  private readonly runs: Counter<'status'>;
  private readonly kl: Gauge;
  private readonly lastRun: Gauge;
  private readonly goldenDrift: Gauge<'dataset'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.runs = new Counter({
      name: 'costsim_v2_canary_runs_total',
      help: 'Canary runs completed by this instance, by status (pass, fail, error, skipped)',
      labelNames: ['status'],
      registers,
    });
    for (const status of ['pass', 'fail', 'error', 'skipped']) this.runs.inc({ status }, 0);
    this.kl = new Gauge({
      name: 'costsim_v2_canary_kl_divergence',
      help: 'KL divergence of V1 vs V2 costs in the last canary run this instance completed',
      registers,
    });
    this.lastRun = new Gauge({
      name: 'costsim_v2_canary_last_run_timestamp_seconds',
      help: 'Unix time the last canary run this instance completed ended',
      registers,
    });
    this.goldenDrift = new Gauge({
      name: 'costsim_v2_golden_drift_score',
      help: 'Golden-dataset drift score of V2 at its last validation (docs/domain.md §6), by dataset',
      labelNames: ['dataset'],
      registers,
    });
  }

  onReport(report: CanaryReport): void {
    this.runs.inc({ status: report.status });
    if (report.status === 'pass' || report.status === 'fail') this.kl.set(report.kl_divergence);
    this.lastRun.set(Date.parse(report.timestamp) / 1000);
    for (const g of report.golden_comparison) this.onGolden(g);
  }

  onGolden(result: GoldenValidationResult): void {
    this.goldenDrift.set({ dataset: result.dataset_id }, result.drift_score);
  }
}
