import type { Express } from 'express';
import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { addressedTenant, requireScope, principalOf } from '../../infra/http/auth';
import { parseOrThrow } from '../../infra/http/validation';
import type { BreakerStateCache } from '../../projections/breaker/breakerStateCache';
import type { BreakerCommandService } from '../breaker/breakerCommandService';
import type { ProvenanceWriter } from '../provenance/provenanceWriter';
import { ShadowSimulation } from './shadowSimulation';
import { simulateResponse } from './simulateResponseSchema';
import { simulateBody } from './simulateSchemas';

/**
 * POST /costsim/v2/simulate (api.md, the original route): V1 answers, V2 runs in shadow, every pair is
 * recorded as provenance and fed to the breaker. Uses the breaker and provenance slices' in-process APIs.
 */
export const simulationFeature: FeatureDefinition = {
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
  create(ctx) {
    const breaker = ctx.apis.get('breaker') as
      { service: BreakerCommandService; cache: BreakerStateCache } | undefined;
    const provenance = ctx.apis.get('provenance') as { writer: ProvenanceWriter } | undefined;
    if (!breaker || !provenance)
      throw new Error('the simulation slice needs the breaker and provenance slices');
    const shadow = new ShadowSimulation(
      {
        sandboxEnabled: ctx.config.sandboxEnabled,
        breakerScope: ctx.config.breaker.scope,
        modelVersion: ctx.config.modelVersion,
        adapterVersion: ctx.config.adapterVersion,
        commitSha: ctx.config.commitSha,
      },
      {
        isV2Disabled: (tenantId) => breaker.cache.isV2Disabled(tenantId),
        reportDrift: async (ref, drift) => {
          await breaker.service.execute(ref, (now, incidentId) => ({
            type: 'ReportDrift',
            drift_score: drift.score,
            sample_count: 1,
            details: drift.details,
            actor: 'sandbox',
            incident_id: incidentId,
            now,
          }));
        },
        writeProvenance: (records) => provenance.writer.write(records, { actor_key: 'sandbox' }),
      },
      ctx.logger,
    );
    return {
      api: { shadow },
      mount(app: Express) {
        app.post('/costsim/v2/simulate', requireScope('write'), async (req, res) => {
          const body = parseOrThrow(simulateBody, req.body ?? {}, 'body');
          const tenantId = addressedTenant(principalOf(req), body.tenant_id);
          res.json(await shadow.simulate(body, tenantId));
        });
      },
    };
  },
};
