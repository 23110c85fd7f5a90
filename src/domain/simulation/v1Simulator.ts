/**
 * V1 — the static-table cost simulator, the production answer (domain.md §2.1).
 *
 * Pure: no I/O, no clock, no randomness, so the same input always gives the same answer. That matters
 * because V1 is the reference every V2 answer is compared against, and its output is hashed into provenance.
 */
import {
  type PlanStep,
  type SimulationInput,
  type SkillKey,
  codePointLength,
  permissionGaps,
  skillKey,
} from './simulationInput';
import {
  type Alternative,
  type RiskItem,
  type SimulationResultCore,
  type StepEstimate,
  emptyPlanResult,
} from './simulationResult';

export type V1RiskType =
  | 'timeout'
  | 'rate_limit'
  | 'transform_error'
  | 'not_found'
  | 'permission'
  | 'quota'
  | 'delivery'
  | 'unknown';

export interface V1SkillRow {
  readonly cost_cents: number;
  readonly latency_ms: number;
  readonly risk_probability: number;
  readonly risk_type: V1RiskType;
}

/** domain.md §2.1 table, one row per known skill plus `unknown` for every other name. */
export const V1_SKILLS: Readonly<Record<SkillKey, V1SkillRow>> = Object.freeze({
  http_call: { cost_cents: 0, latency_ms: 500, risk_probability: 0.1, risk_type: 'timeout' },
  llm_invoke: { cost_cents: 5, latency_ms: 2000, risk_probability: 0.05, risk_type: 'rate_limit' },
  json_transform: { cost_cents: 0, latency_ms: 10, risk_probability: 0.01, risk_type: 'transform_error' },
  fs_read: { cost_cents: 0, latency_ms: 50, risk_probability: 0.05, risk_type: 'not_found' },
  fs_write: { cost_cents: 0, latency_ms: 100, risk_probability: 0.05, risk_type: 'permission' },
  shell_lite: { cost_cents: 0, latency_ms: 200, risk_probability: 0.1, risk_type: 'timeout' },
  kv_get: { cost_cents: 0, latency_ms: 5, risk_probability: 0.02, risk_type: 'not_found' },
  kv_set: { cost_cents: 0, latency_ms: 10, risk_probability: 0.02, risk_type: 'quota' },
  webhook_send: { cost_cents: 0, latency_ms: 300, risk_probability: 0.1, risk_type: 'timeout' },
  email_send: { cost_cents: 1, latency_ms: 500, risk_probability: 0.05, risk_type: 'delivery' },
  unknown: { cost_cents: 10, latency_ms: 1000, risk_probability: 0.2, risk_type: 'unknown' },
});

/** What to do about each risk type; the spec names only the idea, so these are short phrases. */
export const MITIGATIONS: Readonly<Record<V1RiskType, string>> = Object.freeze({
  timeout: 'Retry with exponential backoff',
  rate_limit: 'Client-side throttling',
  transform_error: 'Validate input schema',
  not_found: 'Check existence before access',
  permission: 'Verify permissions',
  quota: 'Check quota',
  delivery: 'Delivery confirmation',
  unknown: 'Error handling and monitoring',
});

/** Status is 'feasible' when feasible, else the first failed check (or 'invalid_plan' for an empty plan). */
export type V1Status =
  'feasible' | 'budget_insufficient' | 'permission_denied' | 'risk_too_high' | 'invalid_plan';

export type V1Result = SimulationResultCore;

/** Only step risks strictly above this are listed in `risks` (they all still count in the cumulative risk). */
const LISTED_RISK_THRESHOLD = 0.05;
/** llm_invoke is priced 1¢ per 1000 prompt code points, never below the table's 5¢. */
const LLM_MIN_COST_CENTS = 5;
const LLM_CHARS_PER_CENT = 1000;
/** http_call latency is its timeout, capped at the table's 500 ms. */
const HTTP_MAX_LATENCY_MS = 500;

/**
 * Rounds to `dp` decimals the way Python's `round(x, dp)` does. `toFixed` rounds the exact binary value
 * (unlike `Math.round(x * 10^dp)`, which rounds an already-rounded product), and a decimal tie can never
 * be an exact binary value at these scales, so the two agree.
 */
const roundTo = (value: number, dp: number): number => Number(value.toFixed(dp));

/**
 * Chance that at least one of two independent events happens: 1 − (1 − r)(1 − p), written as r + p − r·p.
 * The two are equal in exact arithmetic, but the spec's literal form loses the low bits in floating point
 * (1 − (1 − 0.05) is 0.050000000000000044), which would list a 0.05 step as "> 0.05" and fail a threshold
 * equal to a single step's risk. This form gives exactly p when r = 0.
 */
export const combineRisk = (r: number, p: number): number => r + p - r * p;

/**
 * 1 − (1 − p)^n, computed as n repeated combinations (n ≤ 100) so that n = 1 is exactly p and a step with
 * n iterations adds the same cumulative risk as n copies of it.
 */
export function iteratedRisk(p: number, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) r = combineRisk(r, p);
  return r;
}

/** Chance that at least one step fails, steps independent: r ← 1 − (1 − r)(1 − p) over every step. */
export const cumulativeRisk = (probabilities: readonly number[]): number =>
  probabilities.reduce(combineRisk, 0);

const singleRunCost = (step: PlanStep, row: V1SkillRow): number => {
  const prompt = step.params['prompt'];
  if (skillKey(step.skill) === 'llm_invoke' && typeof prompt === 'string') {
    return Math.max(LLM_MIN_COST_CENTS, Math.floor(codePointLength(prompt) / LLM_CHARS_PER_CENT));
  }
  return row.cost_cents;
};

const singleRunLatency = (step: PlanStep, row: V1SkillRow): number => {
  const timeout = step.params['timeout'];
  // A non-finite or negative timeout would give a meaningless latency; such steps keep the table value.
  if (
    skillKey(step.skill) === 'http_call' &&
    typeof timeout === 'number' &&
    Number.isFinite(timeout) &&
    timeout >= 0
  ) {
    return Math.min(HTTP_MAX_LATENCY_MS, timeout * 1000);
  }
  return row.latency_ms;
};

export function estimateStep(step: PlanStep, stepIndex: number): StepEstimate {
  const row = V1_SKILLS[skillKey(step.skill)];
  const n = step.iterations;
  return {
    step_index: stepIndex,
    // The name as given, not the table key, so callers can tell which unknown skill cost them 10¢.
    skill_id: step.skill,
    cost_cents: singleRunCost(step, row) * n,
    latency_ms: singleRunLatency(step, row) * n,
    risk_probability: iteratedRisk(row.risk_probability, n),
    risk_type: row.risk_type,
  };
}

/** "27.1", "19", "10": at most one decimal, no trailing ".0". */
export const formatPercent = (probability: number): string => String(roundTo(probability * 100, 1));

const mitigationFor = (riskType: string): string =>
  riskType in MITIGATIONS ? MITIGATIONS[riskType as V1RiskType] : MITIGATIONS.unknown;

function listedRisk(estimate: StepEstimate): RiskItem | null {
  if (!(estimate.risk_probability > LISTED_RISK_THRESHOLD)) return null;
  return {
    step_index: estimate.step_index,
    skill_id: estimate.skill_id,
    risk_type: estimate.risk_type,
    probability: estimate.risk_probability,
    description: `${estimate.skill_id} has ${formatPercent(estimate.risk_probability)}% chance of ${estimate.risk_type}`,
    mitigation: mitigationFor(estimate.risk_type),
  };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

interface FailedCheck {
  readonly status: Exclude<V1Status, 'feasible' | 'invalid_plan'>;
  readonly warning: string;
}

/**
 * Every failed check, in the spec's order (budget → permissions → risk). The first one decides the
 * status; all of them are reported as warnings so a caller fixing the budget is not surprised next by
 * a permission failure that was already known.
 */
function failedChecks(
  cost: number,
  budget: number,
  gaps: readonly string[],
  risk: number,
  threshold: number,
): FailedCheck[] {
  const failed: FailedCheck[] = [];
  if (cost > budget) {
    failed.push({
      status: 'budget_insufficient',
      warning: `Budget insufficient: need ${cost} cents, have ${budget}`,
    });
  }
  if (gaps.length > 0) {
    failed.push({ status: 'permission_denied', warning: `Permission denied for skills: ${gaps.join(', ')}` });
  }
  // Compared unrounded: the 4 dp rounding is for display in metadata only.
  if (risk > threshold) {
    failed.push({
      status: 'risk_too_high',
      warning: `Risk too high: ${(risk * 100).toFixed(1)}% > ${(threshold * 100).toFixed(1)}%`,
    });
  }
  return failed;
}

/** The only alternative V1 knows: drop LLM calls, worth what they cost; offered only when they cost something. */
function budgetAlternatives(estimates: readonly StepEstimate[]): Alternative[] {
  const llmCost = sum(
    estimates.filter((e) => skillKey(e.skill_id) === 'llm_invoke').map((e) => e.cost_cents),
  );
  return llmCost > 0 ? [{ description: 'Reduce LLM calls', estimated_savings_cents: llmCost }] : [];
}

export function simulateV1(input: SimulationInput): V1Result {
  if (input.plan.length === 0) return emptyPlanResult(input.budget_cents, 'invalid_plan');

  const budget = input.budget_cents;
  const estimates = input.plan.map(estimateStep);
  const cost = sum(estimates.map((e) => e.cost_cents));
  const duration = sum(estimates.map((e) => e.latency_ms));
  const risk = cumulativeRisk(estimates.map((e) => e.risk_probability));
  const gaps = permissionGaps(input);
  const failed = failedChecks(cost, budget, gaps, risk, input.risk_threshold);
  const budgetSufficient = cost <= budget;

  return {
    feasible: failed.length === 0,
    status: failed[0]?.status ?? 'feasible',
    estimated_cost_cents: cost,
    estimated_duration_ms: duration,
    // The spec does not say whether this may go negative; we clamp at 0 ("nothing left"), and the
    // shortfall is visible in `budget_sufficient` and the budget warning.
    budget_remaining_cents: Math.max(0, budget - cost),
    budget_sufficient: budgetSufficient,
    permission_gaps: gaps,
    risks: estimates.map(listedRisk).filter((r): r is RiskItem => r !== null),
    step_estimates: estimates,
    alternatives: budgetSufficient ? [] : budgetAlternatives(estimates),
    warnings: failed.map((f) => f.warning),
    metadata: {
      plan_steps: input.plan.length,
      cumulative_risk: roundTo(risk, 4),
      budget_utilization: roundTo(cost / Math.max(budget, 1), 4),
    },
  };
}
