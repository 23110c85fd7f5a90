import type { Express } from 'express';
import type pg from 'pg';
import { pendingMigrations } from '../postgres/migrate';
import type { ServiceMetrics } from '../metrics/metrics';
import { projectionStatuses } from '../../projections/runtime/lag';
import { problems } from './problem';
import { sendProblem } from './httpApp';
import type { RouteDoc } from './openapi';
import type { ReadinessCheck } from '../composition/featureModule';

export const operationsRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/health/live', summary: 'Process is up', scope: null },
  { method: 'get', path: '/health/ready', summary: 'Database, migrations and projector lag', scope: null },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', scope: null },
  { method: 'get', path: '/openapi.json', summary: 'This document', scope: null },
];

export interface OperationsDeps {
  pool: pg.Pool;
  metrics: ServiceMetrics;
  /** Readiness fails when any projection is older than this. */
  maxLagSeconds: number;
  projectionNames: readonly string[];
  /** The slices' own readiness checks (in memory). */
  readiness?: () => ReadinessCheck[];
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function updateLagGauges({ pool, metrics, projectionNames }: OperationsDeps) {
  const statuses = (await projectionStatuses(pool)).filter((s) => projectionNames.includes(s.name));
  for (const s of statuses) {
    metrics.projectorLagEvents.set({ projection: s.name }, s.lagEvents);
    metrics.projectorLagSeconds.set({ projection: s.name }, s.lagSeconds);
  }
  return statuses;
}

/** /health/live, /health/ready and /metrics: no API key needed. */
export function mountOperationsRoutes(app: Express, deps: OperationsDeps): void {
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/health/ready', async (req, res) => {
    const reasons: string[] = [];
    const checks: Record<string, unknown> = {};
    try {
      await withTimeout(deps.pool.query('select 1'), 2000, 'database check');
      checks.database = 'ok';
      const pending = await pendingMigrations((sql) => deps.pool.query<{ name: string }>(sql));
      checks.migrations = pending.length === 0 ? 'ok' : { pending };
      if (pending.length > 0) reasons.push(`migrations not applied: ${pending.join(', ')}`);
      const statuses = await withTimeout(updateLagGauges(deps), 2000, 'projector lag check');
      checks.projections = Object.fromEntries(
        statuses.map((s) => [
          s.name,
          {
            lag_events: s.lagEvents,
            lag_seconds: Number(s.lagSeconds.toFixed(3)),
            ...(s.failure
              ? {
                  failing: {
                    message: s.failure.message,
                    event_id: s.failure.eventId,
                    since: s.failure.at.toISOString(),
                    attempts: s.failure.count,
                  },
                }
              : {}),
          },
        ]),
      );
      for (const s of statuses) {
        if (s.lagSeconds > deps.maxLagSeconds) {
          reasons.push(
            `projection ${s.name} lags ${s.lagSeconds.toFixed(1)} s (limit ${deps.maxLagSeconds} s)` +
              (s.failure ? `; stuck: ${s.failure.message}` : ''),
          );
        }
      }
    } catch (err) {
      checks.database = 'unreachable';
      reasons.push(`database unreachable: ${(err as Error).message}`);
    }
    for (const r of deps.readiness?.() ?? []) {
      checks[r.name] = r.check;
      if (!r.ready) reasons.push(...r.reasons);
    }
    if (reasons.length > 0) {
      return sendProblem(res, req, problems.unavailable(reasons.join('; '), { reasons, checks }));
    }
    res.json({ status: 'ready', checks });
  });

  app.get('/metrics', async (_req, res) => {
    await updateLagGauges(deps).catch(() => {}); // a scrape must not fail because the database is down
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
