import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BreakerId } from '../../domain/breaker';
import { type Comparison, type VerdictBounds, compareResults } from '../../domain/simulation/comparison';
import { inputHash, outputHash } from '../../domain/simulation/simulationHashes';
import { type RawPlanStep, normalizeInput } from '../../domain/simulation/simulationInput';
import {
  DRIFT_NOT_RECORDED_TEXT,
  PROVENANCE_NOT_RECORDED_TEXT,
  SCHEMA_ERROR_NOT_RECORDED_TEXT,
  V2_DISABLED_TEXT,
  type V2Engine,
  breakerTrippedText,
  v2ErrorText,
} from '../../domain/simulation/v2Engine';
import { type V1Result, simulateV1 } from '../../domain/simulation/v1Simulator';
import { type V2Result, v2IntegralLatencySteps } from '../../domain/simulation/v2Simulator';
import type { NewProvenanceRecord } from '../provenance/provenanceWriter';
import type { SimulateBody } from './simulateSchemas';
import type { SimulationMetrics, V2SimulationStatus } from './simulationMetrics';

export interface ShadowConfig {
  sandboxEnabled: boolean;
  /** tenant: a tenant's drift feeds its own breaker (COSTSIM_BREAKER_SCOPE) */
  breakerScope: 'global' | 'tenant';
  /** COSTSIM_DRIFT_WARNING_THRESHOLD / COSTSIM_DRIFT_THRESHOLD */
  verdictBounds: VerdictBounds;
  modelVersion: string;
  adapterVersion: string;
  commitSha: string;
}

/** The breaker a shadow run reports to. */
export type BreakerRef = BreakerId;

export interface ShadowPorts {
  /** the in-memory V2 gate of the breaker slice */
  isV2Disabled(tenantId: string | null): boolean;
  reportSchemaError(breaker: BreakerRef, details: Record<string, unknown>): Promise<void>;
  /**
   * The pair's provenance record and its drift observation, stored together (one commit, group-committed
   * across concurrent requests); resolves once both are settled, each with its own outcome: the record's
   * id once it is durably stored, the observation's trip.
   */
  recordRun(
    breaker: BreakerRef,
    record: NewProvenanceRecord,
    drift: { score: number; details: Record<string, unknown> },
  ): Promise<{
    provenance: PromiseSettledResult<string>;
    drift: PromiseSettledResult<{ tripped: boolean; reason: string | null }>;
  }>;
}

/** The request body as the client wrote it (lossless numbers), or null when it is not at hand. */
export interface WrittenBody {
  readonly plan?: readonly unknown[];
}

export interface SimulateResponse {
  v1_feasible: boolean;
  v1_cost_cents: number;
  v1_duration_ms: number;
  v1_result: V1Result;
  v2_result?: V2Result;
  /** the full comparison object of docs/domain.md §2.3 */
  comparison?: Comparison;
  sandbox_enabled: boolean;
  v2_error?: string;
  run_id: string;
  provenance_id?: string;
}

/** The breaker drift from sandbox traffic feeds (docs/domain.md §3: global, or the tenant's with scope=tenant). */
const SANDBOX_BREAKER = 'costsim_v2';

const statusOf = (
  kind: 'timeout' | 'http_status' | 'unreachable' | 'invalid_answer' | 'failed',
): V2SimulationStatus => (kind === 'http_status' ? 'http_error' : kind);

/**
 * One request in shadow mode (docs/domain.md §1–§3): V1 answers; V2 runs beside it only while the sandbox is on
 * and neither the global nor the tenant's breaker is open; the pair is compared, recorded as provenance and
 * fed to the breaker as a drift observation — both stored before the answer goes out. Nothing on the V2
 * side can fail the request or change V1's answer: every failure ends up as a fixed text in `v2_error`
 * (details in the log). An answer from an external V2 that is not V2's output is a schema error, reported
 * to the breaker's schema-error path.
 */
export class ShadowSimulation {
  constructor(
    private readonly config: ShadowConfig,
    private readonly engine: V2Engine,
    private readonly ports: ShadowPorts,
    private readonly metrics: SimulationMetrics,
    private readonly logger?: Logger,
  ) {}

  async simulate(
    body: SimulateBody,
    tenantId: string | null,
    written: WrittenBody | null = null,
  ): Promise<SimulateResponse> {
    // The plan as written: its params keep their numbers as the client wrote them (`30.0` is a float for
    // `str()` and for the hash). Without the raw body, the parsed one stands in.
    const writtenPlan: readonly unknown[] = written?.plan ?? body.plan;
    const input = normalizeInput({
      plan: body.plan.map(
        (step, i) => ({ ...step, params: paramsOf(writtenPlan[i]) ?? step.params }) as RawPlanStep,
      ),
      budget_cents: body.budget_cents ?? null,
      allowed_skills: body.allowed_skills ?? null,
      risk_threshold: body.risk_threshold ?? null,
    });
    const runId = body.run_id ?? randomUUID();

    const v1Started = performance.now();
    const v1 = simulateV1(input);
    this.metrics.observeDuration('v1', v1Started);
    // Fields in docs/api.md's order (the original's clients see the JSON).
    const respond = (
      v2: Partial<Pick<SimulateResponse, 'v2_result' | 'comparison' | 'v2_error' | 'provenance_id'>> = {},
    ): SimulateResponse => ({
      v1_feasible: v1.feasible,
      v1_cost_cents: v1.estimated_cost_cents,
      v1_duration_ms: v1.estimated_duration_ms,
      v1_result: v1,
      ...(v2.v2_result ? { v2_result: v2.v2_result } : {}),
      ...(v2.comparison ? { comparison: v2.comparison } : {}),
      sandbox_enabled: this.config.sandboxEnabled,
      ...(v2.v2_error ? { v2_error: v2.v2_error } : {}),
      run_id: runId,
      ...(v2.provenance_id ? { provenance_id: v2.provenance_id } : {}),
    });
    if (!this.config.sandboxEnabled) return respond();
    if (this.ports.isV2Disabled(tenantId)) {
      this.metrics.simulations.inc({ status: 'disabled' });
      return respond({ v2_error: V2_DISABLED_TEXT });
    }

    const breaker = {
      name: SANDBOX_BREAKER,
      tenantId: this.config.breakerScope === 'tenant' ? tenantId : null,
    };
    const v2Started = performance.now();
    const outcome = await this.engine.run({ input, writtenPlan, runId });
    this.metrics.observeDuration(this.engine.name, v2Started);
    if (outcome.kind !== 'answered') {
      this.metrics.simulations.inc({ status: statusOf(outcome.kind) });
      const v2Error = v2ErrorText(outcome);
      if (outcome.kind === 'invalid_answer') {
        this.metrics.schemaErrors.inc();
        try {
          await this.ports.reportSchemaError(breaker, {
            run_id: runId,
            field: outcome.field,
            engine: this.engine.name,
          });
        } catch (err) {
          this.logger?.error({ err, run_id: runId }, 'schema error not recorded');
          return respond({ v2_error: `${v2Error}; ${SCHEMA_ERROR_NOT_RECORDED_TEXT}` });
        }
      }
      return respond({ v2_error: v2Error });
    }

    const v2 = outcome.result;
    this.metrics.simulations.inc({ status: v2.status });
    const { comparison, drift } = compareResults(v1, v2, this.config.verdictBounds);
    this.metrics.observeComparison(comparison.verdict, drift, comparison.cost_delta_cents);

    // Provenance and the drift observation go out together; the answer waits for both.
    const { provenance: recorded, drift: observed } = await this.ports.recordRun(
      breaker,
      {
        run_id: runId,
        tenant_id: tenantId,
        variant_slug: 'v2',
        source: 'sandbox',
        model_version: v2.model_version,
        adapter_version: this.config.adapterVersion,
        commit_sha: this.config.commitSha,
        input_hash: inputHash({ plan: writtenPlan, budget_cents: input.budget_cents }),
        output_hash: outputHash(v2, v2IntegralLatencySteps(input)),
        v1_cost: comparison.v1_cost_cents,
        v2_cost: comparison.v2_cost_cents,
        drift_score: comparison.drift_score,
        verdict: comparison.verdict,
        payload: { input: body, v1_output: v1, v2_output: v2, comparison },
        runtime_ms: v2.runtime_ms,
      },
      // The unrounded drift, which decided the verdict: the breaker counts a failure exactly for a mismatch.
      {
        score: drift,
        details: {
          verdict: comparison.verdict,
          cost_delta_cents: comparison.cost_delta_cents,
          cost_delta_pct: comparison.cost_delta_pct,
          feasibility_match: comparison.feasibility_match,
          tenant_id: tenantId,
          run_id: runId,
        },
      },
    );
    const errors: string[] = [];
    if (recorded.status === 'rejected') {
      this.logger?.error({ err: recorded.reason, run_id: runId }, 'provenance not recorded');
      errors.push(PROVENANCE_NOT_RECORDED_TEXT);
    }
    if (observed.status === 'rejected') {
      this.logger?.error({ err: observed.reason, run_id: runId }, 'drift observation not recorded');
      errors.push(DRIFT_NOT_RECORDED_TEXT);
    } else if (observed.value.tripped && observed.value.reason) {
      errors.push(breakerTrippedText(observed.value.reason));
    }
    return respond({
      v2_result: v2,
      comparison,
      ...(errors.length > 0 ? { v2_error: errors.join('; ') } : {}),
      ...(recorded.status === 'fulfilled' ? { provenance_id: recorded.value } : {}),
    });
  }
}

function paramsOf(step: unknown): Record<string, unknown> | null {
  if (typeof step !== 'object' || step === null) return null;
  const params = (step as { params?: unknown }).params;
  return typeof params === 'object' && params !== null && !Array.isArray(params)
    ? (params as Record<string, unknown>)
    : null;
}
