import { createHash } from 'node:crypto';
import { canonicalJson } from './canonicalJson';
import type { SimulationResultCore } from './simulationResult';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** domain.md §2.3: SHA-256 of canonical {plan, budget_cents}: equal inputs share provenance records. */
export function inputHash(input: { plan: unknown; budget_cents: number }): string {
  return sha256(canonicalJson({ plan: input.plan, budget_cents: input.budget_cents }));
}

/** The short form of the input hash (first 16 hex characters). */
export const planHash = (input: { plan: unknown; budget_cents: number }) => inputHash(input).slice(0, 16);

/** SHA-256 of the deterministic part of a result (runtime excluded), so equal answers hash equally. */
export function outputHash(result: SimulationResultCore): string {
  return sha256(
    canonicalJson({
      feasible: result.feasible,
      status: result.status,
      estimated_cost_cents: result.estimated_cost_cents,
      estimated_duration_ms: result.estimated_duration_ms,
      step_estimates: result.step_estimates,
    }),
  );
}
