/**
 * CostSim V2 — the coefficient model with confidence, the candidate run in shadow beside V1
 * (domain.md §2.2). A pure function: no I/O and no clock; the caller measures `runtime_ms` and passes it in
 * together with the version stamps.
 *
 * Float arithmetic follows the original's order of operations (base + (L/1000)·coef, then · iterations),
 * so sums land on the same doubles; every rounding is Python's `round` (half to even on the exact binary
 * value, see roundHalfEven).
 */
import { roundHalfEven } from './roundHalfEven';
import {
  codePointLength,
  permissionGaps,
  skillKey,
  type PlanStep,
  type SimulationInput,
  type SkillKey,
} from './simulationInput';
import {
  type Alternative,
  type RiskItem,
  type SimulationResultCore,
  type StepEstimate,
  emptyPlanResult,
} from './simulationResult';

/** The version the built-in V2 reports (domain.md §2.2 "model_version ("2.0.0")"). */
export const V2_MODEL_VERSION = '2.0.0';

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

/** domain.md §2.2 table. */
export const V2_SKILLS: Readonly<Record<SkillKey, V2SkillModel>> = {
  // base latency 350 ms + 150 ms variance, capped by the timeout param (see estimateStep)
  http_call: flat(0, 350 + 150, 0.85, 0.08, 'timeout'),
  llm_invoke: {
    baseCostCents: 3.5,
    costPer1kInputChars: 0.8,
    costPer1kOutputChars: 1.2,
    baseLatencyMs: 1800,
    latencyPer1kInputCharsMs: 200,
    confidence: 0.92,
    riskFactor: 0.03,
    riskType: 'rate_limit',
  },
  json_transform: flat(0, 5, 0.98, 0.005, 'transform_error'),
  fs_read: flat(0, 30, 0.95, 0.03, 'read'),
  fs_write: flat(0, 50, 0.94, 0.02, 'write'),
  shell_lite: flat(0, 150, 0.88, 0.07, 'timeout'),
  kv_get: flat(0, 3, 0.97, 0.01, 'get'),
  kv_set: flat(0, 5, 0.97, 0.01, 'set'),
  webhook_send: flat(0, 200, 0.9, 0.08, 'timeout'),
  email_send: flat(0.8, 350, 0.93, 0.03, 'delivery'),
  unknown: flat(5.0, 500, 0.6, 0.15, 'unknown'),
};

/** What to do about each risk type (V1's wording where V1 has the type). */
export const V2_MITIGATIONS: Readonly<Record<V2RiskType, string>> = {
  timeout: 'Add retry with exponential backoff',
  rate_limit: 'Add client-side throttling',
  transform_error: 'Validate input schema',
  read: 'Check existence before read',
  write: 'Verify write permissions',
  get: 'Handle missing keys',
  set: 'Check quota',
  delivery: 'Add delivery confirmation',
  unknown: 'Add error handling and monitoring',
};

// Modifier rules of domain.md §2.2.
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

/** V1's step estimate plus the step's confidence (4 dp; never changed by iterations). */
export interface V2StepEstimate extends StepEstimate {
  readonly confidence: number;
}

/**
 * SimulationResultCore with V2's narrower status and step estimates, plus V2's own fields; still assignable
 * to SimulationResultCore. (Omit rather than a plain intersection so `step_estimates.map` sees
 * V2StepEstimate: an intersection of two array types resolves methods on the first.)
 */
export type V2Result = Omit<SimulationResultCore, 'status' | 'step_estimates' | 'metadata'> & {
  readonly status: V2Status;
  readonly step_estimates: readonly V2StepEstimate[];
  readonly confidence_score: number;
  readonly model_version: string;
  readonly runtime_ms: number;
  readonly metadata: SimulationResultCore['metadata'] & {
    readonly adapter_version: string;
    readonly commit_sha: string;
  };
};

/** A step's unrounded estimate, iterations applied to cost, latency and risk (not to confidence). */
interface StepModel {
  readonly index: number;
  readonly skill: string;
  readonly key: SkillKey;
  readonly cost: number;
  readonly latency: number;
  readonly confidence: number;
  readonly risk: number;
  readonly riskType: V2RiskType;
}

export function simulateV2(input: SimulationInput, options: V2Options): V2Result {
  const stamps = {
    model_version: options.modelVersion,
    runtime_ms: options.runtimeMs,
  };
  const versionMetadata = { adapter_version: options.adapterVersion, commit_sha: options.commitSha };

  if (input.plan.length === 0) {
    const empty = emptyPlanResult(input.budget_cents, 'schema_error' as const);
    return {
      ...empty,
      step_estimates: [],
      confidence_score: 0,
      ...stamps,
      metadata: { ...empty.metadata, ...versionMetadata },
    };
  }

  const steps = input.plan.map(estimateStep);

  let totalCost = 0;
  let totalLatency = 0;
  let confidence = 1;
  for (const step of steps) {
    totalCost += step.cost;
    totalLatency += step.latency;
    confidence *= step.confidence;
  }

  const listed = steps.filter((step) => step.risk > LISTED_RISK_ABOVE);
  let cumulativeRisk = 0;
  for (const step of listed) cumulativeRisk = 1 - (1 - cumulativeRisk) * (1 - step.risk);

  const cost = roundHalfEven(totalCost);
  const duration = roundHalfEven(totalLatency);
  const budget = input.budget_cents;
  const gaps = permissionGaps(input);
  const budgetSufficient = cost <= budget;

  // Feasibility in V1's order; the first failing check decides the (single) warning, as in the original.
  let warning: string | null = null;
  if (!budgetSufficient) warning = `Budget insufficient: need ${cost} cents, have ${budget}`;
  else if (gaps.length > 0) warning = `Permission denied for skills: ${pythonListRepr(gaps)}`;
  else if (cumulativeRisk > input.risk_threshold) {
    warning = `Risk too high: ${(cumulativeRisk * 100).toFixed(1)}% > ${(input.risk_threshold * 100).toFixed(1)}%`;
  }
  const feasible = warning === null;

  const alternatives: Alternative[] = [];
  if (!budgetSufficient) {
    let llmCost = 0;
    for (const step of steps) if (step.key === 'llm_invoke') llmCost += step.cost;
    if (llmCost > 0) {
      alternatives.push({ description: 'Reduce LLM calls', estimated_savings_cents: roundHalfEven(llmCost) });
    }
  }

  return {
    feasible,
    status: feasible ? 'success' : 'error',
    estimated_cost_cents: cost,
    estimated_duration_ms: duration,
    budget_remaining_cents: Math.max(0, budget - cost),
    budget_sufficient: budgetSufficient,
    permission_gaps: gaps,
    risks: listed.map(riskItem),
    step_estimates: steps.map(stepEstimate),
    alternatives,
    warnings: warning === null ? [] : [warning],
    confidence_score: roundHalfEven(confidence, 4),
    ...stamps,
    metadata: {
      plan_steps: input.plan.length,
      cumulative_risk: roundHalfEven(cumulativeRisk, 4),
      budget_utilization: roundHalfEven(cost / Math.max(budget, 1), 4),
      ...versionMetadata,
    },
  };
}

function estimateStep(step: PlanStep, index: number): StepModel {
  const key = skillKey(step.skill);
  const model = V2_SKILLS[key];
  let cost = model.baseCostCents;
  let latency = model.baseLatencyMs;
  let confidence = model.confidence;
  let risk = model.riskFactor;

  if (key === 'llm_invoke') {
    const inputChars = codePointLength(step.params['prompt']);
    const outputChars = Math.min(inputChars * LLM_OUTPUT_PER_INPUT_CHAR, LLM_MAX_OUTPUT_CHARS);
    cost += (inputChars / 1000) * model.costPer1kInputChars;
    cost += (outputChars / 1000) * model.costPer1kOutputChars;
    latency += (inputChars / 1000) * model.latencyPer1kInputCharsMs;
    if (inputChars > LLM_LONG_PROMPT_CHARS) confidence *= LLM_LONG_PROMPT_CONFIDENCE;
    if (inputChars > LLM_VERY_LONG_PROMPT_CHARS) confidence *= LLM_VERY_LONG_PROMPT_CONFIDENCE;
  } else if (key === 'http_call') {
    const timeout = step.params['timeout'];
    const timeoutS =
      typeof timeout === 'number' && Number.isFinite(timeout) ? timeout : HTTP_DEFAULT_TIMEOUT_S;
    latency = Math.min(latency, timeoutS * 1000);
    const url = step.params['url'];
    const local = typeof url === 'string' && HTTP_LOCAL_URL_PREFIXES.some((prefix) => url.startsWith(prefix));
    if (!local) {
      risk *= HTTP_EXTERNAL_RISK;
      confidence *= HTTP_EXTERNAL_CONFIDENCE;
    }
  } else if (key === 'shell_lite') {
    if (codePointLength(step.params['command']) > SHELL_LONG_COMMAND_CHARS) {
      risk *= SHELL_LONG_COMMAND_RISK;
      confidence *= SHELL_LONG_COMMAND_CONFIDENCE;
    }
  }

  // domain.md §2.2 "Fix": iterations n as in V1 — cost and latency × n, risk 1 − (1 − p)^n. Confidence is
  // a property of the estimate, not of how often the step runs, so iterations leave it alone. n = 1 keeps
  // p itself (1 − (1 − p) can differ from p in the last bit).
  const n = step.iterations;
  return {
    index,
    skill: step.skill,
    key,
    cost: cost * n,
    latency: latency * n,
    confidence,
    risk: n === 1 ? risk : 1 - (1 - risk) ** n,
    riskType: model.riskType,
  };
}

function stepEstimate(step: StepModel): V2StepEstimate {
  return {
    step_index: step.index,
    skill_id: step.skill,
    cost_cents: roundHalfEven(step.cost, 2),
    latency_ms: roundHalfEven(step.latency, 2),
    risk_probability: roundHalfEven(step.risk, 4),
    risk_type: step.riskType,
    confidence: roundHalfEven(step.confidence, 4),
  };
}

function riskItem(step: StepModel): RiskItem {
  return {
    step_index: step.index,
    skill_id: step.skill,
    risk_type: step.riskType,
    probability: roundHalfEven(step.risk, 4),
    description: `${step.skill} has ${roundHalfEven(step.risk * 100, 1)}% chance of ${step.riskType}`,
    mitigation: V2_MITIGATIONS[step.riskType],
  };
}

/** Python's `str(list_of_str)`: `['a', 'b']`, each element as Python's `repr` of a str. */
export function pythonListRepr(items: readonly string[]): string {
  return `[${items.map(pythonStrRepr).join(', ')}]`;
}

/** Characters Python's `str.isprintable()` rejects (the space excepted), which `repr` escapes. */
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** Python 3's `repr(s)` for a str. */
export function pythonStrRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      const cp = ch.codePointAt(0) ?? 0;
      if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}
