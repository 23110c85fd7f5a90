import type { Express } from 'express';
import { type BreakerPolicy, initialBreakerState } from '../../domain/breaker';
import type { EventStore } from '../../infra/eventStore/eventStore';
import { addressedTenant, readableTenant, requireScope, principalOf } from '../../infra/http/auth';
import { setVersionEtag } from '../../infra/http/etag';
import { parseOrThrow } from '../../infra/http/validation';
import {
  parseBreakerName,
  historyQuery,
  incidentsQuery,
  listQuery,
  stateQuery,
} from '../../commands/breaker/breakerSchemas';
import type { BreakerQueries } from './breakerQueries';
import { type BreakerStateCache, DEFAULT_BREAKER } from './breakerStateCache';
import { breakerStateView } from './breakerViews';
import { breakerHistory } from './breakerHistory';

export interface BreakerQueryDeps {
  queries: BreakerQueries;
  store: EventStore;
  policy: BreakerPolicy;
  sandboxEnabled: boolean;
  modelVersion: string;
  adapterVersion: string;
  /** The V2 gate: /costsim/v2/status answers what it decides. */
  gate?: Pick<BreakerStateCache, 'isV2Disabled'>;
  /** Declared breakers: listed (closed, version 0) before they have any event. */
  declarations?: { list(): Promise<Array<{ name: string }>> };
  /** The service's clock (default: the system's). */
  clock?: () => Date;
}

/** Query routes of the breaker: read models only, except history, which is the audit log itself. */
export function mountBreakerQueryRoutes(app: Express, deps: BreakerQueryDeps): void {
  const { queries, store, policy } = deps;
  const clock = deps.clock ?? (() => new Date());

  app.get('/costsim/breakers', requireScope('read'), async (req, res) => {
    parseOrThrow(listQuery, req.query, 'query');
    const p = principalOf(req);
    const [listed, declared] = await Promise.all([
      queries.list(readableTenant(p)),
      deps.declarations?.list() ?? [],
    ]);
    const seen = new Set(listed.filter((b) => b.tenant_id === null).map((b) => b.name));
    const unused = declared
      .filter((d) => !seen.has(d.name))
      .map((d) => breakerStateView(d.name, null, initialBreakerState(), clock(), policy));
    res.json({ breakers: [...listed, ...unused].sort((a, b) => a.name.localeCompare(b.name)) });
  });

  app.get('/costsim/breakers/:name', requireScope('read'), async (req, res) => {
    const name = parseBreakerName(req.params.name);
    const q = parseOrThrow(stateQuery, req.query, 'query');
    const tenantId = addressedTenant(principalOf(req), q.tenant_id);
    const view =
      q.min_version !== undefined
        ? await queries.getAtLeast(name, tenantId, q.min_version)
        : await queries.get(name, tenantId);
    setVersionEtag(res, view.version);
    res.json(view);
  });

  app.get('/costsim/breakers/:name/incidents', requireScope('read'), async (req, res) => {
    const name = parseBreakerName(req.params.name);
    const q = parseOrThrow(incidentsQuery, req.query, 'query');
    const tenantId = addressedTenant(principalOf(req), q.tenant_id);
    res.json(
      await queries.incidents(name, tenantId, {
        includeResolved: q.include_resolved ?? false,
        limit: q.limit ?? 10,
      }),
    );
  });

  app.get('/costsim/breakers/:name/history', requireScope('read'), async (req, res) => {
    const name = parseBreakerName(req.params.name);
    const q = parseOrThrow(historyQuery, req.query, 'query');
    const tenantId = addressedTenant(principalOf(req), q.tenant_id);
    const until = q.until ? new Date(q.until) : clock();
    res.json(await breakerHistory(store, policy, { name, tenantId }, until, q.limit ?? 100));
  });

  app.get('/costsim/v2/status', requireScope('read'), async (req, res) => {
    parseOrThrow(listQuery, req.query, 'query');
    const tenantId = principalOf(req).tenantId;
    const global = await queries.get(DEFAULT_BREAKER, null);
    const tenant = tenantId === null ? null : await queries.get(DEFAULT_BREAKER, tenantId);
    const open = [global, tenant].filter((s) => s?.open);
    res.json({
      sandbox_enabled: deps.sandboxEnabled,
      // The V2 gate's own answer: open also while the gate fails closed (V2 is off then too).
      circuit_breaker_open: deps.gate ? deps.gate.isV2Disabled(tenantId) : open.length > 0,
      disabled_by_drift: open.some((s) => s?.disabled_by === 'circuit_breaker'),
      model_version: deps.modelVersion,
      adapter_version: deps.adapterVersion,
      drift_threshold: policy.driftThreshold,
    });
  });

  app.get('/costsim/v2/incidents', requireScope('read'), async (req, res) => {
    const q = parseOrThrow(incidentsQuery.omit({ tenant_id: true }), req.query, 'query');
    const tenantId = principalOf(req).tenantId;
    res.json(
      await queries.incidents(DEFAULT_BREAKER, tenantId, {
        includeResolved: q.include_resolved ?? false,
        limit: q.limit ?? 10,
      }),
    );
  });
}
