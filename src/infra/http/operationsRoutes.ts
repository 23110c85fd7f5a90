import { timingSafeEqual, createHash } from 'node:crypto';
import { join } from 'node:path';
import express, { type Express, type Request } from 'express';
import { z } from 'zod';
import type pg from 'pg';
import { pendingMigrations } from '../postgres/migrate';
import type { ServiceMetrics } from '../metrics/metrics';
import { aggregateSensitiveLabels } from '../metrics/aggregateExposition';
import { packageRoot } from '../packageRoot';
import { projectionStatuses } from '../../projections/runtime/lag';
import { problems } from './problem';
import { sendProblem } from './httpApp';
import type { RouteDoc } from './openapi';
import type { ReadinessCheck } from '../composition/featureModule';
import type { ProjectorThreadStatus } from '../../projections/runtime/projectorThread';

export const operationsRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/health/live',
    summary: 'Process is up',
    scope: null,
    response: z.object({ status: z.literal('ok') }),
  },
  {
    method: 'get',
    path: '/health/ready',
    summary:
      'Database, migrations, and each projection: lag, stuck, dead letters, no error text (503 problem with reasons when a lag passes the limit)',
    scope: null,
    response: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.unknown()) }),
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (tenant and breaker series aggregated unless detail or the metrics token)',
    scope: null,
    produces: 'text/plain',
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    scope: null,
    response: z.record(z.string(), z.unknown()),
  },
  {
    method: 'get',
    path: '/docs/runbooks/:file',
    summary: 'A runbook of the repository (docs/runbooks/), which alerts link as runbook_url',
    scope: null,
    produces: 'text/markdown',
  },
];

export interface OperationsDeps {
  pool: pg.Pool;
  metrics: ServiceMetrics;
  /** Readiness fails when any projection is older than this. */
  maxLagSeconds: number;
  projectionNames: readonly string[];
  /** The slices' own readiness checks (in memory). */
  readiness?: () => ReadinessCheck[];
  /** This replica's projector thread (PROJECTOR_THREAD=worker, projector on): shown, never failing. */
  projectorThread?: { status(): ProjectorThreadStatus };
  /** Per-tenant and per-breaker series: for everyone (detail), or for scrapers presenting the token. */
  metricsAccess?: { detail: boolean; token: string | undefined };
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Whether this scrape may see tenant ids and breaker names: COSTSIM_METRICS_DETAIL=true, or the metrics
 * token as a Bearer credential (compared in constant time). A wrong token is a 401, not a quiet downgrade.
 */
function metricsDetail(req: Request, access: OperationsDeps['metricsAccess']): boolean {
  if (!access) return true;
  if (access.detail) return true;
  const header = req.get('authorization');
  if (!access.token || header === undefined) return false;
  const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!presented || !timingSafeEqual(digest(presented), digest(access.token))) {
    throw problems.unauthorized('Unknown metrics token');
  }
  return true;
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
    metrics.projectorDeadLetters.set({ projection: s.name }, s.deadLetters);
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
      // No error text here (anyone may read this): which projection, and that it is stuck; the error
      // itself is in `costsim-guard projections status` and GET /costsim/projections (admin).
      checks.projections = Object.fromEntries(
        statuses.map((s) => [
          s.name,
          {
            status: s.failure ? 'stuck' : s.lagSeconds > deps.maxLagSeconds ? 'lagging' : 'ok',
            lag_events: s.lagEvents,
            lag_seconds: Number(s.lagSeconds.toFixed(3)),
            dead_letters: s.deadLetters,
            ...(s.failure
              ? { failing: { last_failure_at: s.failure.at.toISOString(), attempts: s.failure.count } }
              : {}),
          },
        ]),
      );
      for (const s of statuses) {
        if (s.lagSeconds > deps.maxLagSeconds) {
          reasons.push(
            `projection ${s.name} lags ${s.lagSeconds.toFixed(1)} s (limit ${deps.maxLagSeconds} s)` +
              (s.failure ? '; it is stuck on an event it cannot apply' : ''),
          );
        }
      }
    } catch {
      checks.database = 'unreachable';
      reasons.push('database unreachable');
    }
    // Whether this replica's projector thread runs, and how often it was restarted. Not a reason to take
    // the replica out of rotation: the API and the V2 gate do not need it, and read models falling behind
    // fail the lag check above; the exit's error text is in the log only (anyone may read this).
    if (deps.projectorThread) {
      const t = deps.projectorThread.status();
      checks.projector_thread = {
        status: t.state,
        restarts: t.restarts,
        ...(t.lastExit ? { last_exit: { at: t.lastExit.at, code: t.lastExit.code } } : {}),
      };
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

  app.get('/metrics', async (req, res) => {
    const detail = metricsDetail(req, deps.metricsAccess);
    await updateLagGauges(deps).catch(() => {}); // a scrape must not fail because the database is down
    const text = await deps.metrics.registry.metrics();
    res.type(deps.metrics.registry.contentType).send(detail ? text : aggregateSensitiveLabels(text));
  });

  // This repository's documents (docs/), runbooks included: alerts' runbook_url points here by default.
  app.use(
    '/docs',
    express.static(join(packageRoot(), 'docs'), {
      dotfiles: 'ignore',
      index: false,
      fallthrough: true,
      setHeaders: (res, path) => {
        if (path.endsWith('.md')) res.setHeader('Content-Type', 'text/markdown; charset=utf-8');
      },
    }),
  );
}
