import type pg from 'pg';
import type { CanarySample } from '../../domain/canary/canaryStatistics';
import type { GoldenDataset } from '../../domain/canary/goldenDataset';
import {
  type GoldenOutcome,
  type GoldenValidationResult,
  validateGolden,
} from '../../domain/canary/goldenValidation';
import { type VerdictBounds, compareResults } from '../../domain/simulation/comparison';
import { type SimulationInput, normalizeInput } from '../../domain/simulation/simulationInput';
import type { V2Engine, V2Outcome } from '../../domain/simulation/v2Engine';
import { simulateV1 } from '../../domain/simulation/v1Simulator';
import { simulateBody } from '../simulation/simulateSchemas';

/** One input to price with V1 and V2: what was asked, and the plan as written (an external V2 gets it). */
export interface PricedInput {
  readonly input: SimulationInput;
  readonly writtenPlan: unknown;
}

/**
 * Up to `limit` recent successful sandbox inputs (domain.md §6): provenance of source `sandbox` that V2
 * answered (a verdict was recorded), newest first. A stored input that no longer parses as a simulate
 * request is left out (and counted), never guessed at.
 */
export async function recentSandboxInputs(
  pool: pg.Pool,
  limit: number,
): Promise<{ inputs: PricedInput[]; unreadable: number }> {
  const { rows } = await pool.query<{ input: unknown }>(
    `select payload->'input' as input from provenance
      where source = 'sandbox' and verdict is not null and v1_cost is not null and v2_cost is not null
      order by created_at desc, id desc limit $1`,
    [limit],
  );
  const inputs: PricedInput[] = [];
  let unreadable = 0;
  for (const row of rows) {
    const parsed = simulateBody.safeParse(row.input);
    if (!parsed.success) {
      unreadable++;
      continue;
    }
    const body = parsed.data;
    inputs.push({
      input: normalizeInput({
        plan: body.plan,
        budget_cents: body.budget_cents ?? null,
        allowed_skills: body.allowed_skills ?? null,
        risk_threshold: body.risk_threshold ?? null,
      }),
      writtenPlan: body.plan,
    });
  }
  return { inputs, unreadable };
}

/** A golden sample as a simulation input (its own budget; defaults of domain.md §2 otherwise). */
export const goldenInputs = (dataset: GoldenDataset): PricedInput[] =>
  dataset.samples.map((s) => ({
    input: normalizeInput({ plan: s.plan, budget_cents: s.budget_cents ?? null }),
    writtenPlan: s.plan,
  }));

/** V1 and V2 on one input, compared (domain.md §2.3); V2's outcome is returned as it came. */
export async function pricePair(
  priced: PricedInput,
  engine: V2Engine,
  bounds: VerdictBounds,
  runId: string,
): Promise<{ outcome: V2Outcome; sample: CanarySample | null }> {
  const v1 = simulateV1(priced.input);
  const outcome = await engine.run({ input: priced.input, writtenPlan: priced.writtenPlan, runId });
  if (outcome.kind !== 'answered') return { outcome, sample: null };
  const { comparison, drift } = compareResults(v1, outcome.result, bounds);
  return {
    outcome,
    sample: {
      v1_cost_cents: comparison.v1_cost_cents,
      v2_cost_cents: comparison.v2_cost_cents,
      // unrounded: the same judgement as the verdict (an outlier is drift > 0.5)
      drift_score: drift,
      verdict: comparison.verdict,
    },
  };
}

export const goldenOutcome = (outcome: V2Outcome): GoldenOutcome =>
  outcome.kind === 'answered'
    ? {
        kind: 'answered',
        estimated_cost_cents: outcome.result.estimated_cost_cents,
        feasible: outcome.result.feasible,
        confidence_score: outcome.result.confidence_score,
      }
    : { kind: 'threw' };

/** domain.md §6 golden validation of one dataset: V2 per sample, with the sample's budget. */
export async function validateDataset(
  dataset: GoldenDataset,
  engine: V2Engine,
  runId = `golden-${dataset.id}`,
): Promise<GoldenValidationResult> {
  const outcomes: GoldenOutcome[] = [];
  for (const priced of goldenInputs(dataset)) {
    outcomes.push(
      goldenOutcome(await engine.run({ input: priced.input, writtenPlan: priced.writtenPlan, runId })),
    );
  }
  return validateGolden(dataset, outcomes);
}
