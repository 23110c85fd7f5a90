/**
 * The input both simulators take (domain.md §2). Validation of the HTTP body happens at the edge (zod);
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
  readonly params: Readonly<Record<string, unknown>>;
  /** 1..100 */
  readonly iterations: number;
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

/** domain.md §2 defaults: skill "unknown", params {}, iterations 1, budget 1000, threshold 0.5. */
export function normalizeInput(raw: {
  plan: readonly RawPlanStep[];
  budget_cents?: number | null;
  allowed_skills?: readonly string[] | null;
  risk_threshold?: number | null;
}): SimulationInput {
  return {
    plan: raw.plan.map((s) => ({
      skill: s.skill ?? 'unknown',
      params: s.params ?? {},
      iterations: s.iterations ?? 1,
    })),
    budget_cents: raw.budget_cents ?? 1000,
    allowed_skills: raw.allowed_skills ?? null,
    risk_threshold: raw.risk_threshold ?? 0.5,
  };
}

export const skillKey = (skill: string): SkillKey =>
  (KNOWN_SKILLS as readonly string[]).includes(skill) ? (skill as KnownSkill) : 'unknown';

/** String lengths count Unicode code points, not UTF-16 units (domain.md §2). */
export const codePointLength = (value: unknown): number =>
  typeof value === 'string' ? [...value].length : 0;

/** Skills of the plan that `allowed_skills` does not allow, in plan order, each once. */
export function permissionGaps(input: SimulationInput): string[] {
  const allowed = input.allowed_skills;
  if (!allowed || allowed.length === 0) return [];
  const gaps: string[] = [];
  for (const step of input.plan) {
    if (!allowed.includes(step.skill) && !gaps.includes(step.skill)) gaps.push(step.skill);
  }
  return gaps;
}
