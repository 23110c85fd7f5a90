import type { Express, Request } from 'express';
import type { z } from 'zod';
import { type BreakerCommand, type BreakerPolicy, breakerId } from '../../domain/breaker';
import { addressedTenant, requireScope, principalOf } from '../../infra/http/auth';
import { ifMatchVersions, setVersionEtag } from '../../infra/http/etag';
import { parseOrThrow } from '../../infra/http/validation';
import { breakerStateView, openIncidentView } from '../../projections/breaker/breakerViews';
import { DEFAULT_BREAKER } from '../../projections/breaker/breakerStateCache';
import type { BreakerCommandService, BreakerOutcome, BreakerRef } from './breakerCommandService';
import { disableCommand, enableCommand } from './breakerCommandInputs';
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

/** The breaker a request addresses: a valid name and a tenant the key may act for. */
function breakerRef(req: Request): BreakerRef {
  const name = parseBreakerName(req.params.name);
  const { tenant_id } = parseOrThrow(tenantQuery, req.query, 'query');
  return breakerId(name, addressedTenant(principalOf(req), tenant_id));
}

const body = (req: Request): unknown => (req.body === undefined ? {} : req.body);

function metadata(req: Request) {
  return { actor_key: principalOf(req).keyId, request_id: req.requestId, correlation_id: req.correlationId };
}

/** Command routes of the breaker (docs/api.md "Breakers" and the original /costsim/v2/reset). */
export function mountBreakerCommandRoutes(
  app: Express,
  service: BreakerCommandService,
  policy: BreakerPolicy,
  clock: () => Date = () => new Date(),
): void {
  const stateOf = (ref: BreakerRef, outcome: BreakerOutcome) =>
    breakerStateView(ref.name, ref.tenantId, outcome.after, clock(), policy);

  /** Every command: If-Match honoured, request ids recorded in the events' metadata. */
  const execute = (
    req: Request,
    ref: BreakerRef,
    build: (now: Date, incidentId: string) => BreakerCommand,
  ) => {
    const ifMatch = ifMatchVersions(req);
    return service.execute(ref, build, {
      ...(ifMatch !== undefined ? { ifMatch } : {}),
      metadata: metadata(req),
    });
  };

  app.post('/costsim/breakers/:name/disable', requireScope('admin'), async (req, res) => {
    const ref = breakerRef(req);
    const input = parseOrThrow(disableBody, body(req), 'body');
    const actor = input.disabled_by ?? principalOf(req).keyId;
    const outcome = await execute(req, ref, disableCommand(input, actor));
    setVersionEtag(res, outcome.version);
    res.json({
      changed: outcome.changed,
      state: stateOf(ref, outcome),
      incident: outcome.changed ? openIncidentView(ref.name, ref.tenantId, outcome.after) : null,
    });
  });

  const enable = (
    req: Request,
    ref: BreakerRef,
    reason: string | undefined,
    enabledBy: string | undefined,
  ) => {
    const actor = enabledBy ?? principalOf(req).keyId;
    return execute(req, ref, enableCommand(reason, actor));
  };

  app.post('/costsim/breakers/:name/enable', requireScope('admin'), async (req, res) => {
    const ref = breakerRef(req);
    const input = parseOrThrow(enableBody, body(req), 'body');
    const outcome = await enable(req, ref, input.reason, input.enabled_by);
    setVersionEtag(res, outcome.version);
    res.json({ changed: outcome.changed, state: stateOf(ref, outcome) });
  });

  /** Observations (drift, schema errors): `write` scope, answered with whether they tripped the breaker. */
  const reportRoute = <S extends z.ZodType>(
    path: string,
    schema: S,
    toCommand: (input: z.infer<S>, actor: string, now: Date, incidentId: string) => BreakerCommand,
  ) =>
    app.post(path, requireScope('write'), async (req, res) => {
      const ref = breakerRef(req);
      const input = parseOrThrow(schema, body(req), 'body');
      const actor = principalOf(req).keyId;
      const outcome = await execute(req, ref, (now, incidentId) => toCommand(input, actor, now, incidentId));
      setVersionEtag(res, outcome.version);
      res.json({
        tripped: outcome.tripped,
        state: stateOf(ref, outcome),
        incident: outcome.tripped ? openIncidentView(ref.name, ref.tenantId, outcome.after) : null,
      });
    });

  reportRoute('/costsim/breakers/:name/drift', driftBody, (input, actor, now, incidentId) => ({
    type: 'ReportDrift',
    drift_score: input.drift_score,
    sample_count: input.sample_count ?? null,
    details: input.details ?? null,
    actor,
    incident_id: incidentId,
    now,
  }));

  reportRoute('/costsim/breakers/:name/schema-errors', schemaErrorsBody, (input, actor, now, incidentId) => ({
    type: 'ReportSchemaErrors',
    error_count: input.error_count,
    details: input.details ?? null,
    actor,
    incident_id: incidentId,
    now,
  }));

  // The original service's reset: enable costsim_v2 for the request's tenant. Old clients send the reason
  // as ?reason=, newer ones as {reason}, some send no body at all.
  app.post('/costsim/v2/reset', requireScope('admin'), async (req, res) => {
    const query = parseOrThrow(resetQuery, req.query, 'query');
    const input = parseOrThrow(resetBody, body(req), 'body');
    const ref = breakerId(DEFAULT_BREAKER, principalOf(req).tenantId);
    const outcome = await enable(req, ref, input.reason ?? query.reason, undefined);
    setVersionEtag(res, outcome.version);
    res.json({
      success: true,
      message: outcome.changed ? 'Circuit breaker reset: V2 re-enabled' : 'Circuit breaker was not open',
      state: stateOf(ref, outcome),
    });
  });
}
