import type { FeatureDefinition } from './infra/composition/featureModule';
import type { Projection } from './projections/projection';

/** Every feature slice the service runs, in mount order. */
export const features: readonly FeatureDefinition[] = [];

export const allProjections = (): Projection[] => features.flatMap((f) => f.projections);
