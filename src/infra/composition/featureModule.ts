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
   * The `api` of every slice created before this one, by slice name: how a slice uses another's in-process
   * services (the simulation runs the breaker's V2 gate) without importing its wiring.
   */
  apis: ReadonlyMap<string, unknown>;
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
export interface FeatureModule {
  /** What the slice offers in-process to the composition root, tests and other roles (e.g. the V2 gate). */
  api?: unknown;
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

export interface FeatureDefinition {
  readonly name: string;
  /** Static, so offline tools (projections rebuild/status) see them without starting the slice. */
  readonly projections: readonly Projection[];
  /** NOTIFY channels the slice listens on (in addition to the event store's). */
  readonly channels?: readonly string[];
  /** Its routes for /openapi.json. */
  readonly routes?: readonly RouteDoc[];
  create(ctx: ServiceContext): FeatureModule;
}
