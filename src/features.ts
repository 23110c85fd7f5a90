import type { FeatureDefinition } from './infra/composition/featureModule';
import type { Projection } from './projections/projection';
import type { RouteDoc } from './infra/http/openapi';
import { operationsRouteDocs } from './infra/http/operationsRoutes';
import { projectionRouteDocs } from './projections/runtime/projectionRoutes';
import { alertsFeature } from './commands/alerts/alertsFeature';
import { breakerFeature } from './commands/breaker/breakerFeature';
import { canaryFeature } from './commands/canary/canaryFeature';
import { provenanceFeature } from './commands/provenance/provenanceFeature';
import { simulationFeature } from './commands/simulation/simulationFeature';
import { statusFeature } from './projections/status/statusFeature';

/** Every feature slice the service runs, in mount order. */
export const features: readonly FeatureDefinition[] = [
  breakerFeature,
  alertsFeature,
  provenanceFeature,
  simulationFeature,
  canaryFeature,
  statusFeature,
];

export const allProjections = (): Projection[] => features.flatMap((f) => f.projections);

/** Every documented route, operations included: /openapi.json, docs/openapi.json and the 405 handler use it. */
export const allRouteDocs = (): RouteDoc[] => [
  ...operationsRouteDocs,
  ...projectionRouteDocs,
  ...features.flatMap((f) => f.routes ?? []),
];
