/**
 * CostSim V2 — the coefficient model with confidence, the candidate run in shadow beside V1
 * (docs/domain.md §2.2). A pure function: no I/O and no clock; the caller measures `runtime_ms` and passes it in
 * together with the version stamps.
 *
 * Float arithmetic follows the original's order of operations (base + (L/1000)·coef, then · iterations),
 * so sums land on the same doubles; every rounding is Python's `round` (half to even on the exact binary
 * value, see roundHalfEven). The answer has the original's fields exactly (its `to_dict`), which is also
 * what an external V2 must answer (v2Answer.ts).
 */
import { exactPow } from './exactDouble';
import { formatFixed, pythonLen, pythonListRepr } from './pythonFormat';
import { roundHalfEven } from './roundHalfEven';
import {
  type PlanStep,
  type SimulationInput,
  type SkillKey,
  hasParam,
  permissionGaps,
  skillKey,
} from './simulationInput';
import { isWrittenNumber, numericValue, writtenIsInteger } from './writtenJson';
import { EMPTY_PLAN_WARNING } from './v1Simulator';

export type V2RiskType =
  'timeout' | 'rate_limit' | 'transform_error' | 'read' | 'write' | 'get' | 'set' | 'delivery' | 'unknown';

/** One row of the V2 table. Only llm_invoke has non-zero per-1k-character coefficients. */
export interface V2SkillModel {
  readonly baseCostCents: number;
  readonly costPer1kInputChars: number;
  readonly costPer1kOutputChars: number;
  readonly baseLatencyMs: number;
  readonly latencyPer1kInputCharsMs: number;
  readonly confidence: number;
  readonly riskFactor: number;
  readonly riskType: V2RiskType;
}

const flat = (
  baseCostCents: number,
  baseLatencyMs: number,
  confidence: number,
  riskFactor: number,
  riskType: V2RiskType,
): V2SkillModel => ({
  baseCostCents,
  costPer1kInputChars: 0,
  costPer1kOutputChars: 0,
  baseLatencyMs,
  latencyPer1kInputCharsMs: 0,
  confidence,
  riskFactor,
  riskType,
});

/** docs/domain.md §2.2 table. */
export const V2_SKILLS: Readonly<Record<SkillKey, V2SkillModel>> = {
  // base latency 350 ms + 150 ms variance, capped by the timeout param (see estimateStep)
  http_call: flat(0.0, 350.0 + 150, 0.85, 0.08, 'timeout'),
  llm_invoke: {
    baseCostCents: 3.5,
    costPer1kInputChars: 0.8,
    costPer1kOutputChars: 1.2,
    baseLatencyMs: 1800.0,
    latencyPer1kInputCharsMs: 200.0,
    confidence: 0.92,
    riskFactor: 0.03,
    riskType: 'rate_limit',
  },
  json_transform: flat(0.0, 5.0, 0.98, 0.005, 'transform_error'),
  fs_read: flat(0.0, 30.0, 0.95, 0.03, 'read'),
  fs_write: flat(0.0, 50.0, 0.94, 0.02, 'write'),
  shell_lite: flat(0.0, 150.0, 0.88, 0.07, 'timeout'),
  kv_get: flat(0.0, 3.0, 0.97, 0.01, 'get'),
  kv_set: flat(0.0, 5.0, 0.97, 0.01, 'set'),
  webhook_send: flat(0.0, 200.0, 0.9, 0.08, 'timeout'),
  email_send: flat(0.8, 350.0, 0.93, 0.03, 'delivery'),
  unknown: flat(5.0, 500.0, 0.6, 0.15, 'unknown'),
};

// Modifier rules of docs/domain.md §2.2.
const LLM_OUTPUT_PER_INPUT_CHAR = 2;
const LLM_MAX_OUTPUT_CHARS = 4000;
const LLM_LONG_PROMPT_CHARS = 2000;
const LLM_LONG_PROMPT_CONFIDENCE = 0.95;
const LLM_VERY_LONG_PROMPT_CHARS = 4000;
const LLM_VERY_LONG_PROMPT_CONFIDENCE = 0.9;
const HTTP_DEFAULT_TIMEOUT_S = 30;
const HTTP_LOCAL_URL_PREFIXES = ['http://localhost', 'http://127.0.0.1'] as const;
const HTTP_EXTERNAL_RISK = 1.5;
const HTTP_EXTERNAL_CONFIDENCE = 0.95;
const SHELL_LONG_COMMAND_CHARS = 100;
const SHELL_LONG_COMMAND_RISK = 1.2;
const SHELL_LONG_COMMAND_CONFIDENCE = 0.95;
/** Only risks strictly above this are listed, and only listed risks count towards the cumulative risk. */
const LISTED_RISK_ABOVE = 0.02;

export interface V2Options {
  modelVersion: string;
  adapterVersion: string;
  commitSha: string;
  /** measured by the caller; carried into the result unchanged */
  runtimeMs: number;
}

export type V2Status = 'success' | 'error' | 'schema_error';

/** Exactly these fields (docs/domain.md §2.2); the three numbers were floats in the original. */
export interface V2StepEstimate {
  readonly step_index: number;
  readonly skill_id: string;
  /** 2 dp */
  readonly cost_cents: number;
  /** 2 dp */
  readonly latency_ms: number;
  /** 4 dp */
  readonly confidence: number;
}

export interface V2Risk {
  readonly step_index: number;
  readonly skill_id: string;
  readonly risk_type: string;
  /** unrounded */
  readonly probability: number;
}

/** V2's answer, field for field the original's `V2SimulationResult.to_dict()`. */
export interface V2Result {
  readonly feasible: boolean;
  readonly status: V2Status;
  readonly estimated_cost_cents: number;
  readonly estimated_duration_ms: number;
  /** budget − cost: negative when over budget */
  readonly budget_remaining_cents: number;
  /** product of step confidences, 4 dp */
  readonly confidence_score: number;
  readonly model_version: string;
  readonly step_estimates: readonly V2StepEstimate[];
  readonly risks: readonly V2Risk[];
  /** exactly one for an infeasible plan: the first failing check */
  readonly warnings: readonly string[];
  /** `{}` for an empty plan */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly runtime_ms: number;
}

/** A step's unrounded estimate, iterations applied to cost, latency and risk (not to confidence). */
interface StepModel {
  readonly index: number;
  readonly skill: string;
  readonly cost: number;
  readonly latency: number;
  readonly confidence: number;
  /** the risk factor of one run (what decides whether it is listed) */
  readonly factor: number;
  /** over all runs */
  readonly risk: number;
  readonly riskType: V2RiskType;
}

export function simulateV2(input: SimulationInput, options: V2Options): V2Result {
  const budget = input.budget_cents;
  if (input.plan.length === 0) {
    return {
      feasible: false,
      status: 'schema_error',
      estimated_cost_cents: 0,
      estimated_duration_ms: 0,
      budget_remaining_cents: budget,
      confidence_score: 0.0,
      model_version: options.modelVersion,
      step_estimates: [],
      risks: [],
      warnings: [EMPTY_PLAN_WARNING],
      metadata: {},
      runtime_ms: options.runtimeMs,
    };
  }

  const steps = input.plan.map(estimateStep);
  let totalCost = 0.0;
  let totalLatency = 0.0;
  let confidence = 1.0;
  const risks: V2Risk[] = [];
  let cumulativeRisk = 0.0;
  for (const step of steps) {
    totalCost += step.cost;
    totalLatency += step.latency;
    confidence *= step.confidence;
    if (step.factor > LISTED_RISK_ABOVE) {
      risks.push({
        step_index: step.index,
        skill_id: step.skill,
        risk_type: step.riskType,
        probability: step.risk,
      });
      cumulativeRisk = 1.0 - (1.0 - cumulativeRisk) * (1.0 - step.risk);
    }
  }

  const cost = roundHalfEven(totalCost);
  const duration = roundHalfEven(totalLatency);
  const gaps = permissionGaps(input);

  // Feasibility in V1's order; the first failing check gives the one warning, as in the original.
  let warning: string | null = null;
  if (!(cost <= budget)) warning = `Budget insufficient: need ${cost} cents, have ${budget}`;
  else if (gaps.length > 0) warning = `Permission denied for skills: ${pythonListRepr(gaps)}`;
  else if (!(cumulativeRisk <= input.risk_threshold)) {
    warning = `Risk too high: ${formatFixed(cumulativeRisk * 100, 1)}% > ${formatFixed(input.risk_threshold * 100, 1)}%`;
  }
  const feasible = warning === null;

  return {
    feasible,
    status: feasible ? 'success' : 'error',
    estimated_cost_cents: cost,
    estimated_duration_ms: duration,
    budget_remaining_cents: budget - cost,
    confidence_score: roundHalfEven(confidence, 4),
    model_version: options.modelVersion,
    step_estimates: steps.map((step) => ({
      step_index: step.index,
      skill_id: step.skill,
      cost_cents: roundHalfEven(step.cost, 2),
      latency_ms: roundHalfEven(step.latency, 2),
      confidence: roundHalfEven(step.confidence, 4),
    })),
    risks,
    warnings: warning === null ? [] : [warning],
    metadata: {
      plan_steps: input.plan.length,
      cumulative_risk: roundHalfEven(cumulativeRisk, 4),
      budget_utilization: roundHalfEven(cost / Math.max(budget, 1), 4),
      adapter_version: options.adapterVersion,
      commit_sha: options.commitSha,
    },
    runtime_ms: options.runtimeMs,
  };
}

function estimateStep(step: PlanStep, index: number): StepModel {
  const key = skillKey(step.skill);
  const model = V2_SKILLS[key];
  let cost = model.baseCostCents;
  let latency = model.baseLatencyMs;
  let confidence = model.confidence;
  let factor = model.riskFactor;

  if (key === 'llm_invoke') {
    // `len(str(params.get("prompt", "")))`: a non-string prompt is measured as Python prints it
    const inputChars = hasParam(step.params, 'prompt') ? pythonLen(step.params['prompt']) : 0;
    const outputChars = Math.min(inputChars * LLM_OUTPUT_PER_INPUT_CHAR, LLM_MAX_OUTPUT_CHARS);
    cost += (inputChars / 1000) * model.costPer1kInputChars;
    cost += (outputChars / 1000) * model.costPer1kOutputChars;
    latency += (inputChars / 1000) * model.latencyPer1kInputCharsMs;
    if (inputChars > LLM_LONG_PROMPT_CHARS) confidence *= LLM_LONG_PROMPT_CONFIDENCE;
    if (inputChars > LLM_VERY_LONG_PROMPT_CHARS) confidence *= LLM_VERY_LONG_PROMPT_CONFIDENCE;
  } else if (key === 'http_call') {
    const given = hasParam(step.params, 'timeout') ? numericValue(step.params['timeout']) : null;
    latency = Math.min(latency, (given ?? HTTP_DEFAULT_TIMEOUT_S) * 1000);
    const url = step.params['url'];
    const local = typeof url === 'string' && HTTP_LOCAL_URL_PREFIXES.some((prefix) => url.startsWith(prefix));
    if (!local) {
      factor *= HTTP_EXTERNAL_RISK;
      confidence *= HTTP_EXTERNAL_CONFIDENCE;
    }
  } else if (key === 'shell_lite') {
    const command = hasParam(step.params, 'command') ? pythonLen(step.params['command']) : 0;
    if (command > SHELL_LONG_COMMAND_CHARS) {
      factor *= SHELL_LONG_COMMAND_RISK;
      confidence *= SHELL_LONG_COMMAND_CONFIDENCE;
    }
  }

  // docs/domain.md §2.2 "Fix": iterations exactly as V1 — cost and latency × n, risk 1 − (1 − p)^n. Confidence
  // is a property of the estimate, not of how often the step runs, so iterations leave it alone.
  const n = step.iterations;
  return {
    index,
    skill: step.skill,
    cost: n === null ? cost : cost * n,
    latency: n === null ? latency : latency * n,
    confidence,
    factor,
    risk: n === null ? factor : 1.0 - exactPow(1.0 - factor, n),
    riskType: model.riskType,
  };
}

/**
 * Steps whose `latency_ms` the original computed as an int, not a float: an http_call whose timeout was
 * written as an integer (or a bool) below 0.5 s, since Python's `min(500.0, 0 * 1000)` is the int 0 and
 * `round(0, 2)` stays an int. Their latency hashes as "0", every other as a float (simulationHashes).
 */
export function v2IntegralLatencySteps(input: SimulationInput): ReadonlySet<number> {
  const steps = new Set<number>();
  input.plan.forEach((step, i) => {
    if (skillKey(step.skill) !== 'http_call' || !hasParam(step.params, 'timeout')) return;
    const timeout = step.params['timeout'];
    const integral =
      typeof timeout === 'boolean' ||
      (isWrittenNumber(timeout) && writtenIsInteger(timeout)) ||
      (typeof timeout === 'number' && Number.isInteger(timeout));
    const value = numericValue(timeout);
    if (integral && value !== null && value * 1000 < V2_SKILLS.http_call.baseLatencyMs) steps.add(i);
  });
  return steps;
}
