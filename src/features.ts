import type { Composition, FeatureDescriptor } from './infra/composition/featureModule';
import type { Projection } from './projections/projection';
import type { RouteDoc } from './infra/http/openapi';
import { operationsRouteDocs } from './infra/http/operationsRoutes';
import { projectionRouteDocs } from './projections/runtime/projectionRoutes';
import { type AlertsApi, alertsFeature } from './commands/alerts/alertsFeature';
import { type BreakerApi, breakerFeature } from './commands/breaker/breakerFeature';
import { type CanaryApi, canaryFeature } from './commands/canary/canaryFeature';
import { type ProvenanceApi, provenanceFeature } from './commands/provenance/provenanceFeature';
import { type SimulationApi, simulationFeature } from './commands/simulation/simulationFeature';
import { type StatusApi, statusFeature } from './projections/status/statusFeature';

/** Every feature slice the service runs, in mount order. */
export const features: readonly FeatureDescriptor[] = [
  breakerFeature,
  alertsFeature,
  provenanceFeature,
  simulationFeature,
  canaryFeature,
  statusFeature,
];

/** The in-process API of every slice, by name: what startService returns beside its url. */
export interface ServiceSlices {
  breaker: BreakerApi;
  alerts: AlertsApi;
  provenance: ProvenanceApi;
  simulation: SimulationApi;
  canary: CanaryApi;
  status: StatusApi;
}

/**
 * The whole service: each slice created with the APIs of the slices it uses, named here (the compiler checks
 * each one), in mount order.
 */
export const serviceComposition: Composition<ServiceSlices> = {
  features,
  create(ctx) {
    const breaker = breakerFeature.create(ctx, {});
    const alerts = alertsFeature.create(ctx, {});
    const provenance = provenanceFeature.create(ctx, {});
    const simulation = simulationFeature.create(ctx, { breaker: breaker.api, provenance: provenance.api });
    const canary = canaryFeature.create(ctx, { breaker: breaker.api });
    const status = statusFeature.create(ctx, { breaker: breaker.api });
    return { breaker, alerts, provenance, simulation, canary, status };
  },
};

export const allProjections = (): Projection[] => features.flatMap((f) => f.projections);

/** Every documented route, operations included: /openapi.json, docs/openapi.json and the 405 handler use it. */
export const allRouteDocs = (): RouteDoc[] => [
  ...operationsRouteDocs,
  ...projectionRouteDocs,
  ...features.flatMap((f) => f.routes ?? []),
];
