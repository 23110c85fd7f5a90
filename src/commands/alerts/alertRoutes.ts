import type { Express, Request } from 'express';
import { addressedTenant, requireScope, principalOf } from '../../infra/http/auth';
import { problems } from '../../infra/http/problem';
import { parseOrThrow } from '../../infra/http/validation';
import { type AlertAdminDeps, purgeAlerts, retryFailedAlerts } from './alertAdminCommands';
import { alertListQuery, alertStatsQuery, purgeBody, retryFailedBody } from './alertSchemas';

/** Undefined = every tenant (a global key that names none); a tenant key sees only its own tenant. */
function tenantScope(req: Request, explicit: string | undefined): string | undefined {
  const principal = principalOf(req);
  const tenant = addressedTenant(principal, explicit);
  return tenant === null ? undefined : tenant;
}

/** Queue-wide operations act on every tenant's rows: only a global admin key may run them. */
function requireGlobalKey(req: Request): string {
  const principal = principalOf(req);
  if (principal.keyTenant !== null) {
    throw problems.forbidden(
      'Retrying or purging the alert queue needs a global (not tenant-bound) admin key',
    );
  }
  return principal.keyId;
}

/** docs/api.md "Alerts (operators)": read the queue, retry failed rows, purge old ones. */
export function mountAlertRoutes(app: Express, deps: AlertAdminDeps & { onChange?: () => void }): void {
  const { queries } = deps;

  app.get('/costsim/alerts', requireScope('admin'), async (req, res) => {
    const q = parseOrThrow(alertListQuery, req.query, 'query');
    const tenant = tenantScope(req, q.tenant_id);
    res.json({
      alerts: await queries.list({
        limit: q.limit ?? 100,
        ...(q.status ? { status: q.status } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
      }),
    });
  });

  app.get('/costsim/alerts/stats', requireScope('admin'), async (req, res) => {
    const q = parseOrThrow(alertStatsQuery, req.query, 'query');
    res.json(await queries.stats(tenantScope(req, q.tenant_id)));
  });

  // Operator actions are events (audited, replayed by a rebuild) applied at once as well (idempotent).
  app.post('/costsim/alerts/retry-failed', requireScope('admin'), async (req, res) => {
    const b = parseOrThrow(retryFailedBody, req.body ?? {}, 'body');
    const actor = requireGlobalKey(req);
    const retried = await retryFailedAlerts(deps, {
      extraAttempts: b.max_retries ?? 3,
      actor,
      metadata: { request_id: req.requestId },
    });
    if (retried > 0) deps.onChange?.();
    res.json({ retried });
  });

  app.post('/costsim/alerts/purge', requireScope('admin'), async (req, res) => {
    const b = parseOrThrow(purgeBody, req.body ?? {}, 'body');
    const actor = requireGlobalKey(req);
    const purged = await purgeAlerts(deps, {
      days: b.days ?? 30,
      statuses: b.statuses ?? ['sent', 'failed'],
      actor,
      metadata: { request_id: req.requestId },
    });
    res.json({ purged });
  });
}
