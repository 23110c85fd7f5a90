import type { Express, Request } from 'express';
import type pg from 'pg';
import type { Config } from '../config/config';
import type { EventStore } from '../eventStore/eventStore';
import type { Logger } from '../logging/logger';
import type { ServiceMetrics } from '../metrics/metrics';
import type { PgNotificationListener } from '../postgres/notifications';
import type { Projection } from '../../projections/projection';
import type { RouteDoc } from '../http/openapi';
import type { ApiKey } from '../http/auth';

/** What the composition root hands every feature slice. */
export interface ServiceContext {
  config: Config;
  connectionString: string;
  pool: pg.Pool;
  store: EventStore;
  listener: PgNotificationListener;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The configured API keys (the status page checks a key sent in its form against them). */
  apiKeys: readonly ApiKey[];
  /**
   * The one clock of the process: commands, workers and routes read "now" from it (tests and tools may pass
   * their own to startService). Timeouts and deadlines measure durations with Date.now() instead.
   */
  clock: () => Date;
}

/** One slice's say in /health/ready (e.g. the V2 gate failing closed). */
export interface ReadinessCheck {
  /** Its key under `checks`. */
  name: string;
  ready: boolean;
  /** Why not: shown to unauthenticated readers, so generic words only (no database text, no tenant ids). */
  reasons: string[];
  check: unknown;
}

/**
 * A vertical slice as the service runs it: its projections (run by the shared projector), its routes and
 * its background work. Slices never import one another's internals through this.
 */
export interface FeatureModule<Api = undefined> {
  /**
   * What the slice offers in-process to the composition root, tests and other slices (e.g. the V2 gate),
   * typed: another slice receives it as a `create` dependency, startService returns it under the slice's name.
   */
  api: Api;
  mount?(app: Express): void;
  /** Routes that need no key (the status page): mounted before authentication and the JSON body parser. */
  mountPublic?(app: Express): void;
  /** Called first on shutdown: end long-lived responses (event streams), or the server never closes. */
  closeStreams?(): void;
  /** Evaluated on every /health/ready (in memory, no I/O). */
  readiness?(): ReadinessCheck;
  /** A larger body limit (bytes) for some of the slice's routes; undefined = the default 1 MiB. */
  bodyLimit?(req: Request): number | undefined;
  /** True for the slice's requests whose route reads the body itself, as a stream. */
  streamsBody?(req: Request): boolean;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** What is known of a slice without creating it (offline tools: projections rebuild/status, /openapi.json). */
export interface FeatureDescriptor {
  readonly name: string;
  /** Static, so offline tools (projections rebuild/status) see them without starting the slice. */
  readonly projections: readonly Projection[];
  /** NOTIFY channels the slice listens on (in addition to the event store's). */
  readonly channels?: readonly string[];
  /** Its routes for /openapi.json. */
  readonly routes?: readonly RouteDoc[];
}

/**
 * A slice: `create` builds it from the service context and the typed APIs of the slices it uses (`Deps`, e.g.
 * the simulation's `{breaker, provenance}`), which the composition root (src/features.ts) passes explicitly.
 */
export interface FeatureDefinition<Api, Deps = Record<never, never>> extends FeatureDescriptor {
  create(ctx: ServiceContext, deps: Deps): FeatureModule<Api>;
}

/** The slices of one composition by name, each created; mount order is the key order. */
export type FeatureModules<S> = { readonly [K in keyof S]: FeatureModule<S[K]> };

/**
 * Which slices a service runs and how they are wired to one another: the full service (src/features.ts) or a
 * subset (a benchmark of the breaker alone).
 */
export interface Composition<S> {
  readonly features: readonly FeatureDescriptor[];
  create(ctx: ServiceContext): FeatureModules<S>;
}
