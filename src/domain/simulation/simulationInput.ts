/**
 * The input both simulators take (docs/domain.md §2). Validation of the HTTP body happens at the edge (zod);
 * these functions only apply the documented defaults to an already-typed request.
 */

export const KNOWN_SKILLS = [
  'http_call',
  'llm_invoke',
  'json_transform',
  'fs_read',
  'fs_write',
  'shell_lite',
  'kv_get',
  'kv_set',
  'webhook_send',
  'email_send',
] as const;

export type KnownSkill = (typeof KNOWN_SKILLS)[number];
/** Any skill name outside KNOWN_SKILLS is priced as the unknown skill. */
export type SkillKey = KnownSkill | 'unknown';

export interface PlanStep {
  /** as given; a missing skill is "unknown" */
  readonly skill: string;
  /**
   * As the client wrote them: numbers may be lossless WrittenNumbers (writtenJson.ts), so that `str()` of a
   * value and the hash see `30.0` as the float it was.
   */
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * 1..100 when the step gave it; null when it did not. The two look different in V1's answer
   * (docs/domain.md §2.1: a step with `iterations` carries `iterations`, `base_cost_cents`, `base_latency_ms`
   * and the "x{n}" description), so "not given" is kept apart from 1.
   */
  readonly iterations: number | null;
}

export interface SimulationInput {
  readonly plan: readonly PlanStep[];
  /** integer ≥ 0 */
  readonly budget_cents: number;
  /** null or empty = no restriction (as in the original) */
  readonly allowed_skills: readonly string[] | null;
  /** 0..1 */
  readonly risk_threshold: number;
}

export interface RawPlanStep {
  readonly skill?: string | null;
  readonly params?: Readonly<Record<string, unknown>> | null;
  readonly iterations?: number | null;
}

export interface RawSimulationInput {
  plan: readonly RawPlanStep[];
  budget_cents?: number | null;
  allowed_skills?: readonly string[] | null;
  risk_threshold?: number | null;
}

export const DEFAULT_BUDGET_CENTS = 1000;
export const DEFAULT_RISK_THRESHOLD = 0.5;

/** docs/domain.md §2 defaults: skill "unknown", params {}, budget 1000, threshold 0.5; iterations kept as given. */
export function normalizeInput(raw: RawSimulationInput): SimulationInput {
  return {
    plan: raw.plan.map((s) => ({
      skill: s.skill ?? 'unknown',
      params: s.params ?? {},
      iterations: s.iterations ?? null,
    })),
    budget_cents: raw.budget_cents ?? DEFAULT_BUDGET_CENTS,
    allowed_skills: raw.allowed_skills ?? null,
    risk_threshold: raw.risk_threshold ?? DEFAULT_RISK_THRESHOLD,
  };
}

const KNOWN: ReadonlySet<string> = new Set(KNOWN_SKILLS);

export const skillKey = (skill: string): SkillKey => (KNOWN.has(skill) ? (skill as KnownSkill) : 'unknown');

/** A param the step gave (an own property; `"prompt" in params` in the original). */
export const hasParam = (params: Readonly<Record<string, unknown>>, name: string): boolean =>
  Object.prototype.hasOwnProperty.call(params, name);

/**
 * docs/domain.md §2.1: the skill of EVERY step that `allowed_skills` does not allow, in step order, duplicates
 * kept (the original appended one gap per step). No restriction when the list is null or empty.
 */
export function permissionGaps(input: SimulationInput): string[] {
  const allowed = input.allowed_skills;
  if (!allowed || allowed.length === 0) return [];
  const set = new Set(allowed);
  return input.plan.filter((step) => !set.has(step.skill)).map((step) => step.skill);
}
