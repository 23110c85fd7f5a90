import { z } from 'zod';
import type { V2Result } from '../../domain/simulation/v2Simulator';

/**
 * What an external V2 must answer: V2's output fields (docs/domain.md §2.2; the original's `to_dict`). Bounded,
 * so that whatever it answers is storable in provenance and cannot make one request costly for others:
 * a plan has at most 100 steps, so do the lists; texts are short. Unknown fields are dropped.
 */
const finite = z.number().finite();
const text = (max: number) => z.string().max(max);
const probability = finite.min(0).max(1);

export const v2AnswerSchema = z.object({
  feasible: z.boolean(),
  status: z.enum(['success', 'error', 'schema_error']),
  estimated_cost_cents: z.number().int().min(-1e15).max(1e15),
  estimated_duration_ms: z.number().int().min(-1e15).max(1e15),
  budget_remaining_cents: z.number().int().min(-1e15).max(1e15),
  confidence_score: probability,
  model_version: text(100),
  step_estimates: z
    .array(
      z.object({
        step_index: z.number().int().min(0).max(1000),
        skill_id: text(200),
        cost_cents: finite,
        latency_ms: finite,
        confidence: probability,
      }),
    )
    .max(100),
  risks: z
    .array(
      z.object({
        step_index: z.number().int().min(0).max(1000),
        skill_id: text(200),
        risk_type: text(100),
        probability,
      }),
    )
    .max(1000),
  warnings: z.array(text(2000)).max(100),
  metadata: z.record(z.string().max(100), z.unknown()).refine((m) => Object.keys(m).length <= 50, {
    message: 'at most 50 keys',
  }),
  runtime_ms: finite.min(0),
});

/** The first failing field as a dotted path (`step_estimates.0.cost_cents`), or null when the answer fits. */
export function parseV2Answer(
  answer: unknown,
  planSteps: number,
): { ok: true; result: V2Result } | { ok: false; field: string } {
  const parsed = v2AnswerSchema.safeParse(answer);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.');
    return { ok: false, field: path ? path : 'body' };
  }
  // One estimate per step of the plan it was asked about (an answer about another plan is no answer).
  if (parsed.data.step_estimates.length !== planSteps) return { ok: false, field: 'step_estimates' };
  return { ok: true, result: parsed.data };
}
