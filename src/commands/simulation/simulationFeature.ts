import type { Express } from 'express';
import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { addressedTenant, principalOf, requireScope } from '../../infra/http/auth';
import { HttpV2Engine } from '../../infra/v2/httpV2Engine';
import { SANDBOX_ACTOR } from '../../domain/breaker';
import type { V2Engine } from '../../domain/simulation/v2Engine';
import type { BreakerStateCache } from '../../projections/breaker/breakerStateCache';
import type { BreakerCommandService } from '../breaker/breakerCommandService';
import type { ProvenanceWriter } from '../provenance/provenanceWriter';
import type { StreamAppend } from '../../infra/eventStore/eventStore';
import { BuiltinV2Engine } from './builtinV2Engine';
import { ShadowSimulation } from './shadowSimulation';
import { simulateResponse } from './simulateResponseSchema';
import { simulateBody } from './simulateSchemas';
import { parseSimulateBody } from './simulateBodyByHand';
import { SimulationMetrics } from './simulationMetrics';
import { V2Gate } from './v2Gate';
import { writtenBodyOf } from './writtenBody';

/**
 * POST /costsim/v2/simulate (docs/api.md, the original route): V1 answers, V2 runs in shadow — the built-in
 * model, or an external V2 at COSTSIM_V2_URL — and every pair is recorded as provenance (group-committed
 * across concurrent requests) and fed to the breaker. Uses the breaker and provenance slices' in-process
 * APIs.
 */
/** The simulation slice's in-process API. */
export interface SimulationApi {
  shadow: ShadowSimulation;
  engine: V2Engine;
}

/** What the simulation uses of other slices: the breaker's commands and gate, the provenance writer. */
export interface SimulationDeps {
  breaker: { service: BreakerCommandService; cache: BreakerStateCache };
  provenance: { writer: ProvenanceWriter };
}

export const simulationFeature: FeatureDefinition<SimulationApi, SimulationDeps> = {
  name: 'simulation',
  projections: [],
  routes: [
    {
      method: 'post',
      path: '/costsim/v2/simulate',
      summary: 'Simulate a plan with V1; V2 in shadow when the sandbox is on and the breaker closed',
      scope: 'write',
      body: simulateBody,
      response: simulateResponse,
    },
  ],
  create(ctx, { breaker, provenance }) {
    const { config } = ctx;
    const bounds = { warning: config.breaker.driftWarningThreshold, drift: config.breaker.driftThreshold };
    const versions = {
      modelVersion: config.modelVersion,
      adapterVersion: config.adapterVersion,
      commitSha: config.commitSha,
    };
    const engine: V2Engine = config.v2.url
      ? new HttpV2Engine({ url: config.v2.url, timeoutMs: config.v2.timeoutMs, logger: ctx.logger })
      : new BuiltinV2Engine(versions, ctx.logger);
    const gate = new V2Gate(breaker.cache);
    const metrics = new SimulationMetrics(ctx.metrics.registry, bounds);
    const provenanceMetadata = { actor_key: SANDBOX_ACTOR };
    const shadow = new ShadowSimulation(
      {
        sandboxEnabled: config.sandboxEnabled,
        breakerScope: config.breaker.scope,
        verdictBounds: bounds,
        ...versions,
      },
      engine,
      {
        isV2Disabled: (tenantId) => gate.isV2Disabled(tenantId),
        reportSchemaError: async (ref, details) => {
          const outcome = await breaker.service.execute(ref, (now, incidentId) => ({
            type: 'ReportSchemaErrors',
            error_count: 1,
            details,
            actor: SANDBOX_ACTOR,
            incident_id: incidentId,
            now,
          }));
          gate.observe(ref, outcome.after, outcome.version);
        },
        // One append for both, group-committed with the other requests' on the breaker's stream: a batch
        // of drift observations and its provenance records are one statement and one commit.
        recordRun: async (ref, record, drift) => {
          let companion: { id: string; append: StreamAppend } | null = null;
          let notStorable: unknown = null;
          try {
            companion = provenance.writer.companionOf(record, provenanceMetadata);
          } catch (err) {
            notStorable = err; // the record alone fails; the observation is still stored
          }
          const result = await breaker.service.executeWith(
            ref,
            (now, incidentId) => ({
              type: 'ReportDrift',
              drift_score: drift.score,
              sample_count: 1,
              details: drift.details,
              actor: SANDBOX_ACTOR,
              incident_id: incidentId,
              now,
            }),
            companion ? [companion.append] : [],
          );
          const observed = result.command;
          if (observed.status === 'fulfilled') {
            const outcome = observed.value;
            gate.observe(ref, outcome.after, outcome.version);
          }
          const stored = result.companions;
          return {
            provenance: !companion
              ? { status: 'rejected', reason: notStorable }
              : stored.status === 'fulfilled'
                ? { status: 'fulfilled', value: companion.id }
                : stored,
            drift:
              observed.status === 'fulfilled'
                ? {
                    status: 'fulfilled',
                    value: {
                      tripped: observed.value.tripped,
                      reason: observed.value.tripped ? observed.value.after.disabled_reason : null,
                    },
                  }
                : observed,
          };
        },
      },
      metrics,
      ctx.logger,
    );
    const api: SimulationApi = { shadow, engine };
    return {
      api,
      mount(app: Express) {
        app.post('/costsim/v2/simulate', requireScope('write'), async (req, res) => {
          const body = parseSimulateBody(req.body ?? {});
          const tenantId = addressedTenant(principalOf(req), body.tenant_id);
          res.json(await shadow.simulate(body, tenantId, writtenBodyOf(req)));
        });
      },
      stop: async () => {
        await engine.close?.();
      },
    };
  },
};
