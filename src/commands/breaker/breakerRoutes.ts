import type { Express, Request } from 'express';
import type { BreakerPolicy } from '../../domain/breaker';
import { addressedTenant, requireScope } from '../../infra/http/auth';
import { ifMatchVersion, setVersionEtag } from '../../infra/http/etag';
import { parseOrThrow } from '../../infra/http/validation';
import { problems } from '../../infra/http/problem';
import { breakerStateView, openIncidentView } from '../../projections/breaker/breakerViews';
import { DEFAULT_BREAKER } from '../../projections/breaker/breakerStateCache';
import type { BreakerCommandService, BreakerOutcome, BreakerRef } from './breakerCommandService';
import {
  parseBreakerName,
  disableBody,
  driftBody,
  enableBody,
  resetBody,
  resetQuery,
  schemaErrorsBody,
  tenantQuery,
} from './breakerSchemas';

function principalOf(req: Request) {
  if (!req.principal) throw problems.unauthorized();
  return req.principal;
}

/** The breaker a request addresses: a valid name and a tenant the key may act for. */
function breakerRef(req: Request): BreakerRef {
  const name = parseBreakerName(req.params.name);
  const { tenant_id } = parseOrThrow(tenantQuery, req.query, 'query');
  return { name, tenantId: addressedTenant(principalOf(req), tenant_id) };
}

const body = (req: Request): unknown => (req.body === undefined ? {} : req.body);

function metadata(req: Request) {
  return { actor_key: principalOf(req).keyId, request_id: req.requestId, correlation_id: req.correlationId };
}

/** Command routes of the breaker (api.md "Breakers" and the original /costsim/v2/reset). */
export function mountBreakerCommandRoutes(
  app: Express,
  service: BreakerCommandService,
  policy: BreakerPolicy,
): void {
  const stateOf = (ref: BreakerRef, outcome: BreakerOutcome) =>
    breakerStateView(ref.name, ref.tenantId, outcome.after, new Date(), policy);

  app.post('/costsim/breakers/:name/disable', requireScope('admin'), async (req, res) => {
    const ref = breakerRef(req);
    const input = parseOrThrow(disableBody, body(req), 'body');
    const ifMatch = ifMatchVersion(req);
    const actor = input.disabled_by ?? principalOf(req).keyId;
    const outcome = await service.execute(
      ref,
      (now, incidentId) => ({
        type: 'DisableBreaker',
        reason: input.reason,
        actor,
        ttl_hours: input.ttl_hours ?? null,
        disabled_until: input.disabled_until ?? null,
        incident_id: incidentId,
        now,
      }),
      { ...(ifMatch !== undefined ? { ifMatch } : {}), metadata: metadata(req) },
    );
    setVersionEtag(res, outcome.version);
    res.json({
      changed: outcome.changed,
      state: stateOf(ref, outcome),
      incident: outcome.changed ? openIncidentView(ref.name, ref.tenantId, outcome.after) : null,
    });
  });

  const enable = async (
    req: Request,
    ref: BreakerRef,
    reason: string | undefined,
    enabledBy: string | undefined,
  ) => {
    const ifMatch = ifMatchVersion(req);
    const actor = enabledBy ?? principalOf(req).keyId;
    return service.execute(ref, (now) => ({ type: 'EnableBreaker', actor, reason: reason || null, now }), {
      ...(ifMatch !== undefined ? { ifMatch } : {}),
      metadata: metadata(req),
    });
  };

  app.post('/costsim/breakers/:name/enable', requireScope('admin'), async (req, res) => {
    const ref = breakerRef(req);
    const input = parseOrThrow(enableBody, body(req), 'body');
    const outcome = await enable(req, ref, input.reason, input.enabled_by);
    setVersionEtag(res, outcome.version);
    res.json({ changed: outcome.changed, state: stateOf(ref, outcome) });
  });

  app.post('/costsim/breakers/:name/drift', requireScope('write'), async (req, res) => {
    const ref = breakerRef(req);
    const input = parseOrThrow(driftBody, body(req), 'body');
    const ifMatch = ifMatchVersion(req);
    const actor = principalOf(req).keyId;
    const outcome = await service.execute(
      ref,
      (now, incidentId) => ({
        type: 'ReportDrift',
        drift_score: input.drift_score,
        sample_count: input.sample_count ?? null,
        details: input.details ?? null,
        actor,
        incident_id: incidentId,
        now,
      }),
      { ...(ifMatch !== undefined ? { ifMatch } : {}), metadata: metadata(req) },
    );
    setVersionEtag(res, outcome.version);
    res.json({
      tripped: outcome.tripped,
      state: stateOf(ref, outcome),
      incident: outcome.tripped ? openIncidentView(ref.name, ref.tenantId, outcome.after) : null,
    });
  });

  app.post('/costsim/breakers/:name/schema-errors', requireScope('write'), async (req, res) => {
    const ref = breakerRef(req);
    const input = parseOrThrow(schemaErrorsBody, body(req), 'body');
    const ifMatch = ifMatchVersion(req);
    const actor = principalOf(req).keyId;
    const outcome = await service.execute(
      ref,
      (now, incidentId) => ({
        type: 'ReportSchemaErrors',
        error_count: input.error_count,
        details: input.details ?? null,
        actor,
        incident_id: incidentId,
        now,
      }),
      { ...(ifMatch !== undefined ? { ifMatch } : {}), metadata: metadata(req) },
    );
    setVersionEtag(res, outcome.version);
    res.json({
      tripped: outcome.tripped,
      state: stateOf(ref, outcome),
      incident: outcome.tripped ? openIncidentView(ref.name, ref.tenantId, outcome.after) : null,
    });
  });

  // The original service's reset: enable costsim_v2 for the request's tenant. Old clients send the reason
  // as ?reason=, newer ones as {reason}, some send no body at all.
  app.post('/costsim/v2/reset', requireScope('admin'), async (req, res) => {
    const query = parseOrThrow(resetQuery, req.query, 'query');
    const input = parseOrThrow(resetBody, body(req), 'body');
    const ref = { name: DEFAULT_BREAKER, tenantId: principalOf(req).tenantId };
    const outcome = await enable(req, ref, input.reason ?? query.reason, undefined);
    setVersionEtag(res, outcome.version);
    res.json({
      success: true,
      message: outcome.changed ? 'Circuit breaker reset: V2 re-enabled' : 'Circuit breaker was not open',
      state: stateOf(ref, outcome),
    });
  });
}
