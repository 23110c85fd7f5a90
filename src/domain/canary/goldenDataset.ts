import type { RawPlanStep } from '../simulation/simulationInput';

/**
 * A golden (reference) dataset (docs/domain.md §6): plans with the outputs V2 is expected to give, and the
 * thresholds within which V2 is acceptable on it. Five ship with the service (datasets/); an operator adds
 * more as `*.json` files in COSTSIM_DATASETS_DIR.
 */
export interface GoldenThresholds {
  readonly max_mean_error: number;
  readonly max_median_error: number;
  readonly max_std_deviation: number;
  /** a share, 0..1 */
  readonly max_outlier_pct: number;
  readonly max_drift_score: number;
}

export interface GoldenSample {
  readonly id: string;
  readonly plan: readonly RawPlanStep[];
  /** default 1000 (docs/domain.md §2) */
  readonly budget_cents?: number;
  readonly expected_cost_cents?: number;
  readonly expected_feasible?: boolean;
  readonly expected_confidence_min?: number;
  readonly tags?: readonly string[];
}

export interface GoldenDataset {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly thresholds: GoldenThresholds;
  readonly samples: readonly GoldenSample[];
}
