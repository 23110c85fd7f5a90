/**
 * V1 — the static-table cost simulator, the production answer (docs/domain.md §2.1).
 *
 * V1's output is what the original service's clients read and what its stored provenance holds, so every
 * field, text and number is the original's: the mitigation texts, the one risk warning, a budget remaining
 * below zero, every permission gap, the unrounded cumulative risk computed with the original's float
 * expression, Python's `.0f` formatting (half to even on the exact binary value).
 *
 * Pure: no I/O, no clock, no randomness, so the same input always gives the same answer.
 */
import { exactPow } from './exactDouble';
import { formatFixed, pythonLen } from './pythonFormat';
import {
  type PlanStep,
  type SimulationInput,
  type SkillKey,
  hasParam,
  permissionGaps,
  skillKey,
} from './simulationInput';
import { numericValue } from './writtenJson';

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

/** docs/domain.md §2.1 table, one row per known skill plus `unknown` for every other name. */
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

/** docs/domain.md §2.1, exactly the original's texts. */
export const V1_MITIGATIONS: Readonly<Record<V1RiskType, string>> = Object.freeze({
  timeout: 'Add retry with exponential backoff',
  rate_limit: 'Implement client-side throttling',
  transform_error: 'Validate input schema before transform',
  not_found: 'Add existence check before access',
  permission: 'Verify permissions before write',
  quota: 'Check quota before operation',
  delivery: 'Use delivery confirmation',
  unknown: 'Add error handling and monitoring',
});

/** Any risk type outside the table (none today; the original had the fallback). */
export const V1_DEFAULT_MITIGATION = 'Add error handling';

export type V1Status =
  'feasible' | 'budget_insufficient' | 'permission_denied' | 'risk_too_high' | 'invalid_plan';

/** One step's estimate; a step that gave `iterations` also carries the three iteration fields. */
export interface V1StepEstimate {
  readonly step_index: number;
  readonly skill_id: string;
  /** × iterations */
  readonly cost_cents: number;
  /** × iterations */
  readonly latency_ms: number;
  /** the table's p for ONE run (the original never compounded it here) */
  readonly risk_probability: number;
  readonly risk_type: V1RiskType;
  readonly iterations?: number;
  readonly base_cost_cents?: number;
  readonly base_latency_ms?: number;
}

export interface V1Risk {
  readonly step_index: number;
  readonly skill_id: string;
  readonly risk_type: V1RiskType;
  /** p, or 1 − (1 − p)^n when the step gave iterations */
  readonly probability: number;
  readonly description: string;
  readonly mitigation: string;
}

export interface V1Alternative {
  readonly suggestion: 'Reduce LLM calls';
  readonly potential_savings_cents: number;
}

/** Field order as the original's `to_dict` (clients see the JSON). */
export interface V1Result {
  readonly feasible: boolean;
  readonly status: V1Status;
  readonly estimated_cost_cents: number;
  readonly estimated_duration_ms: number;
  /** budget − cost: negative when over budget */
  readonly budget_remaining_cents: number;
  readonly budget_sufficient: boolean;
  readonly permission_gaps: readonly string[];
  readonly risks: readonly V1Risk[];
  readonly step_estimates: readonly V1StepEstimate[];
  readonly alternatives: readonly V1Alternative[];
  readonly warnings: readonly string[];
  /** `{}` for an empty plan */
  readonly metadata:
    | {
        readonly plan_steps: number;
        /** unrounded */
        readonly cumulative_risk: number;
        /** cost / max(budget, 1), unrounded */
        readonly budget_utilization: number;
      }
    | Record<string, never>;
}

/** Only step risks strictly above this are listed in `risks` (every step counts in the cumulative risk). */
const LISTED_RISK_ABOVE = 0.05;
const LLM_CHARS_PER_CENT = 1000;
export const EMPTY_PLAN_WARNING = 'Empty plan provided';

/** 1 − (1 − p)^n exactly as Python computed it (`**` correctly rounded, see exactPow). */
export const compoundedRisk = (p: number, n: number): number => 1.0 - exactPow(1.0 - p, n);

/** `max(cost, len(str(prompt)) // 1000)` when the step gives a prompt (any JSON value). */
function singleRunCost(step: PlanStep, row: V1SkillRow): number {
  if (step.skill === 'llm_invoke' && hasParam(step.params, 'prompt')) {
    return Math.max(row.cost_cents, Math.floor(pythonLen(step.params['prompt']) / LLM_CHARS_PER_CENT));
  }
  return row.cost_cents;
}

/**
 * `min(latency, timeout * 1000)` when the step gives a timeout. A timeout the original could not multiply
 * (a string, null, an object: it answered HTTP 500) keeps the table latency here.
 */
function singleRunLatency(step: PlanStep, row: V1SkillRow): number {
  if (step.skill === 'http_call' && hasParam(step.params, 'timeout')) {
    const timeout = numericValue(step.params['timeout']);
    if (timeout !== null) return Math.min(row.latency_ms, timeout * 1000);
  }
  return row.latency_ms;
}

interface SteppedRisk {
  readonly estimate: V1StepEstimate;
  /** the step's risk over all its runs */
  readonly risk: number;
  readonly listed: V1Risk | null;
}

function estimateStep(step: PlanStep, stepIndex: number): SteppedRisk {
  const row = V1_SKILLS[skillKey(step.skill)];
  const cost = singleRunCost(step, row);
  const latency = singleRunLatency(step, row);
  const p = row.risk_probability;
  const n = step.iterations;
  const base = {
    step_index: stepIndex,
    // the name as given, not the table key: callers can tell which unknown skill cost them 10¢
    skill_id: step.skill,
  };
  const estimate: V1StepEstimate =
    n === null
      ? { ...base, cost_cents: cost, latency_ms: latency, risk_probability: p, risk_type: row.risk_type }
      : {
          ...base,
          cost_cents: cost * n,
          latency_ms: latency * n,
          risk_probability: p,
          risk_type: row.risk_type,
          iterations: n,
          base_cost_cents: cost,
          base_latency_ms: latency,
        };
  const risk = n === null ? p : compoundedRisk(p, n);
  const listed: V1Risk | null =
    p > LISTED_RISK_ABOVE
      ? {
          step_index: stepIndex,
          skill_id: step.skill,
          risk_type: row.risk_type,
          probability: risk,
          description:
            n === null
              ? `${step.skill} has ${formatFixed(p * 100, 0)}% chance of ${row.risk_type}`
              : `${step.skill} x${n} has ${formatFixed(risk * 100, 0)}% chance of ${row.risk_type}`,
          mitigation: V1_MITIGATIONS[row.risk_type] ?? V1_DEFAULT_MITIGATION,
        }
      : null;
  return { estimate, risk, listed };
}

export function emptyV1Result(budgetCents: number): V1Result {
  return {
    feasible: false,
    status: 'invalid_plan',
    estimated_cost_cents: 0,
    estimated_duration_ms: 0,
    budget_remaining_cents: budgetCents,
    budget_sufficient: true,
    permission_gaps: [],
    risks: [],
    step_estimates: [],
    alternatives: [],
    warnings: [EMPTY_PLAN_WARNING],
    metadata: {},
  };
}

export function simulateV1(input: SimulationInput): V1Result {
  const budget = input.budget_cents;
  if (input.plan.length === 0) return emptyV1Result(budget);

  const estimates: V1StepEstimate[] = [];
  const risks: V1Risk[] = [];
  let cost = 0;
  let duration = 0;
  let cumulative = 0.0;
  let llmCost = 0;
  input.plan.forEach((step, i) => {
    const s = estimateStep(step, i);
    estimates.push(s.estimate);
    if (s.listed) risks.push(s.listed);
    cost += s.estimate.cost_cents;
    duration += s.estimate.latency_ms;
    if (s.estimate.skill_id === 'llm_invoke') llmCost += s.estimate.cost_cents;
    // The original's expression, literally and unrounded (0.1 alone gives 0.09999999999999998).
    cumulative = 1.0 - (1.0 - cumulative) * (1.0 - s.risk);
  });

  const gaps = permissionGaps(input);
  const budgetSufficient = cost <= budget;
  // Checked in this order; V1 warns only when the risk decided the status (docs/domain.md §2.1).
  let status: V1Status = 'feasible';
  const warnings: string[] = [];
  if (!budgetSufficient) status = 'budget_insufficient';
  else if (gaps.length > 0) status = 'permission_denied';
  else if (!(cumulative <= input.risk_threshold)) {
    status = 'risk_too_high';
    warnings.push(
      `Cumulative risk ${formatFixed(cumulative * 100, 0)}% exceeds threshold ${formatFixed(input.risk_threshold * 100, 0)}%`,
    );
  }

  return {
    feasible: status === 'feasible',
    status,
    estimated_cost_cents: cost,
    estimated_duration_ms: duration,
    budget_remaining_cents: budget - cost,
    budget_sufficient: budgetSufficient,
    permission_gaps: gaps,
    risks,
    step_estimates: estimates,
    // whenever the budget is insufficient, even when there are no LLM calls to save (0)
    alternatives: budgetSufficient
      ? []
      : [{ suggestion: 'Reduce LLM calls', potential_savings_cents: llmCost }],
    warnings,
    metadata: {
      plan_steps: input.plan.length,
      cumulative_risk: cumulative,
      budget_utilization: cost / Math.max(budget, 1),
    },
  };
}
