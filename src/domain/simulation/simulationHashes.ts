import { createHash } from 'node:crypto';
import { asFloat, canonicalJson } from './canonicalJson';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * docs/domain.md §2.3: SHA-256 of canonical `{plan, budget_cents}`. `plan` must be the plan as the client wrote
 * it (lossless-parsed, so `30.0` hashes as the float it was and `{}`-less steps stay without params);
 * `budget_cents` is the integer the simulation used (default 1000). Equal inputs share provenance records.
 */
export function inputHash(input: { plan: unknown; budget_cents: number }): string {
  return sha256(canonicalJson({ plan: input.plan, budget_cents: input.budget_cents }));
}

/** The short form of the input hash (first 16 hex characters), the original's `plan_hash`. */
export const planHash = (input: { plan: unknown; budget_cents: number }) => inputHash(input).slice(0, 16);

export interface HashedOutput {
  readonly feasible: boolean;
  readonly status: string;
  readonly estimated_cost_cents: number;
  readonly estimated_duration_ms: number;
  readonly step_estimates: readonly object[];
}

const NONE: ReadonlySet<number> = new Set();

/** Step-estimate fields that were Python floats (`round(x, 2)` of a float); the rest were ints or strings. */
const FLOAT_FIELDS = new Set(['cost_cents', 'latency_ms', 'confidence']);

/**
 * SHA-256 of the deterministic part of V2's answer (runtime excluded, so equal answers hash equally):
 * `{feasible, status, estimated_cost_cents, estimated_duration_ms, step_estimates}`, the step numbers as
 * the floats the original hashed (`0.0`, `500.0`) — except a latency the original computed as an int,
 * which it hashed as one (`integralLatencySteps`, see v2IntegralLatencySteps: `min(500.0, 0 * 1000)` is the
 * int 0).
 */
/** The deterministic part of an answer, in canonical JSON (runtime excluded). */
const hashedPart = (result: HashedOutput, stepEstimates: readonly object[]): string =>
  canonicalJson({
    feasible: result.feasible,
    status: result.status,
    estimated_cost_cents: result.estimated_cost_cents,
    estimated_duration_ms: result.estimated_duration_ms,
    step_estimates: stepEstimates,
  });

export function outputHash(result: HashedOutput, integralLatencySteps: ReadonlySet<number> = NONE): string {
  return sha256(
    hashedPart(
      result,
      result.step_estimates.map((estimate, i) => {
        const hashed: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(estimate as Record<string, unknown>)) {
          hashed[k] =
            FLOAT_FIELDS.has(k) &&
            typeof v === 'number' &&
            !(k === 'latency_ms' && integralLatencySteps.has(i))
              ? asFloat(v)
              : v;
        }
        return hashed;
      }),
    ),
  );
}

/**
 * The same digest over V1's answer, for V1 baseline records (the original stored none; numbers as V1 had
 * them: integral ones as ints).
 */
export const v1OutputHash = (result: HashedOutput): string =>
  sha256(hashedPart(result, result.step_estimates));
