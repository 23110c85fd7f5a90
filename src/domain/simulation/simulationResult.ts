/**
 * What both simulators answer (domain.md §2.1 "Output"; V2 adds its own fields on top). Field names are
 * the original service's, snake_case, because clients of the original read them.
 */

export interface StepEstimate {
  readonly step_index: number;
  readonly skill_id: string;
  readonly cost_cents: number;
  readonly latency_ms: number;
  readonly risk_probability: number;
  readonly risk_type: string;
}

/** A step risk worth telling the caller about, with what to do about it. */
export interface RiskItem {
  readonly step_index: number;
  readonly skill_id: string;
  readonly risk_type: string;
  readonly probability: number;
  readonly description: string;
  readonly mitigation: string;
}

export interface Alternative {
  readonly description: string;
  readonly estimated_savings_cents: number;
}

export interface SimulationResultCore {
  readonly feasible: boolean;
  readonly status: string;
  readonly estimated_cost_cents: number;
  readonly estimated_duration_ms: number;
  readonly budget_remaining_cents: number;
  readonly budget_sufficient: boolean;
  readonly permission_gaps: readonly string[];
  readonly risks: readonly RiskItem[];
  readonly step_estimates: readonly StepEstimate[];
  readonly alternatives: readonly Alternative[];
  readonly warnings: readonly string[];
  readonly metadata: {
    readonly plan_steps: number;
    readonly cumulative_risk: number;
    /** cost / max(budget, 1) */
    readonly budget_utilization: number;
  };
}

/**
 * An empty plan, answered alike by both simulators (domain.md §2.1/§2.2): infeasible, nothing spent, the
 * whole budget left, and the warning the original gave. Only the status differs.
 */
export function emptyPlanResult<Status extends string>(
  budgetCents: number,
  status: Status,
): SimulationResultCore & { status: Status } {
  return {
    feasible: false,
    status,
    estimated_cost_cents: 0,
    estimated_duration_ms: 0,
    budget_remaining_cents: budgetCents,
    budget_sufficient: true,
    permission_gaps: [],
    risks: [],
    step_estimates: [],
    alternatives: [],
    warnings: ['Empty plan provided'],
    metadata: { plan_steps: 0, cumulative_risk: 0, budget_utilization: 0 },
  };
}
