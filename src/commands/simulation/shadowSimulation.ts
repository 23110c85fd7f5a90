import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { compareResults } from '../../domain/simulation/comparison';
import { inputHash, outputHash } from '../../domain/simulation/simulationHashes';
import { normalizeInput } from '../../domain/simulation/simulationInput';
import { type V1Result, simulateV1 } from '../../domain/simulation/v1Simulator';
import { type V2Result, simulateV2 } from '../../domain/simulation/v2Simulator';
import type { NewProvenanceRecord } from '../provenance/provenanceWriter';
import type { SimulateBody } from './simulateSchemas';

export interface ShadowConfig {
  sandboxEnabled: boolean;
  /** tenant: a tenant's drift feeds its own breaker (COSTSIM_BREAKER_SCOPE) */
  breakerScope: 'global' | 'tenant';
  modelVersion: string;
  adapterVersion: string;
  commitSha: string;
}

export interface ShadowPorts {
  /** the in-memory V2 gate of the breaker slice */
  isV2Disabled(tenantId: string | null): boolean;
  reportDrift(
    breaker: { name: string; tenantId: string | null },
    drift: { score: number; details: Record<string, unknown> },
  ): Promise<void>;
  writeProvenance(records: NewProvenanceRecord[]): Promise<string[]>;
}

export interface SimulateResponse {
  v1_feasible: boolean;
  v1_cost_cents: number;
  v1_duration_ms: number;
  v1_result: V1Result;
  v2_result?: V2Result;
  comparison?: {
    verdict: string;
    v1_cost_cents: number;
    v2_cost_cents: number;
    cost_delta_cents: number;
    cost_delta_pct: number;
    drift_score: number;
    feasibility_match: boolean;
  };
  sandbox_enabled: boolean;
  v2_error?: string;
  run_id: string;
  provenance_id?: string;
}

/** The breaker drift from sandbox traffic feeds (domain.md §3: global, or the tenant's with scope=tenant). */
const SANDBOX_BREAKER = 'costsim_v2';

/**
 * One request in shadow mode (domain.md §1–§3): V1 answers; V2 runs beside it only while the sandbox is on
 * and neither the global nor the tenant's breaker is open; the pair is compared, recorded as provenance and
 * fed to the breaker as a drift observation. Nothing on the V2 side can fail the request: a V2 error, a
 * provenance or breaker write that fails, all end up in `v2_error` next to the V1 answer.
 */
export class ShadowSimulation {
  constructor(
    private readonly config: ShadowConfig,
    private readonly ports: ShadowPorts,
    private readonly logger?: Logger,
  ) {}

  async simulate(body: SimulateBody, tenantId: string | null): Promise<SimulateResponse> {
    const input = normalizeInput({
      plan: body.plan,
      budget_cents: body.budget_cents ?? null,
      allowed_skills: body.allowed_skills ?? null,
      risk_threshold: body.risk_threshold ?? null,
    });
    const runId = body.run_id ?? randomUUID();
    const v1 = simulateV1(input);
    const response: SimulateResponse = {
      v1_feasible: v1.feasible,
      v1_cost_cents: v1.estimated_cost_cents,
      v1_duration_ms: v1.estimated_duration_ms,
      v1_result: v1,
      sandbox_enabled: this.config.sandboxEnabled,
      run_id: runId,
    };
    if (!this.config.sandboxEnabled || this.ports.isV2Disabled(tenantId)) return response;

    let v2: V2Result;
    try {
      const started = performance.now();
      v2 = simulateV2(input, { ...this.versions(), runtimeMs: 0 });
      v2 = { ...v2, runtime_ms: Number((performance.now() - started).toFixed(3)) };
    } catch (err) {
      this.logger?.warn({ err, run_id: runId }, 'V2 failed; V1 answered');
      return { ...response, v2_error: `V2 failed: ${(err as Error).message}` };
    }
    const c = compareResults(v1, v2);
    response.v2_result = v2;
    response.comparison = {
      verdict: c.verdict,
      v1_cost_cents: c.v1_cost_cents,
      v2_cost_cents: c.v2_cost_cents,
      cost_delta_cents: c.cost_delta_cents,
      cost_delta_pct: c.cost_delta_pct,
      drift_score: c.drift_score,
      feasibility_match: c.feasibility_match,
    };

    const errors: string[] = [];
    try {
      [response.provenance_id] = await this.ports.writeProvenance([
        {
          run_id: runId,
          tenant_id: tenantId,
          variant_slug: 'v2',
          source: 'sandbox',
          ...this.snakeVersions(),
          input_hash: inputHash({ plan: body.plan, budget_cents: input.budget_cents }),
          output_hash: outputHash(v2),
          v1_cost: c.v1_cost_cents,
          v2_cost: c.v2_cost_cents,
          drift_score: c.drift_score,
          verdict: c.verdict,
          payload: { input: body, v1_output: v1, v2_output: v2 },
          runtime_ms: v2.runtime_ms,
        },
      ]);
    } catch (err) {
      this.logger?.error({ err, run_id: runId }, 'provenance not recorded');
      errors.push(`provenance not recorded: ${(err as Error).message}`);
    }
    try {
      const breakerTenant = this.config.breakerScope === 'tenant' ? tenantId : null;
      await this.ports.reportDrift(
        { name: SANDBOX_BREAKER, tenantId: breakerTenant },
        {
          score: c.drift_score,
          details: {
            run_id: runId,
            verdict: c.verdict,
            ...(response.provenance_id ? { provenance_id: response.provenance_id } : {}),
          },
        },
      );
    } catch (err) {
      this.logger?.error({ err, run_id: runId }, 'drift observation not recorded');
      errors.push(`drift not reported: ${(err as Error).message}`);
    }
    if (errors.length > 0) response.v2_error = errors.join('; ');
    return response;
  }

  private versions() {
    const { modelVersion, adapterVersion, commitSha } = this.config;
    return { modelVersion, adapterVersion, commitSha };
  }

  private snakeVersions() {
    const { modelVersion, adapterVersion, commitSha } = this.config;
    return { model_version: modelVersion, adapter_version: adapterVersion, commit_sha: commitSha };
  }
}
