import type { Express, Request } from 'express';
import type { z } from 'zod';
import { type Principal, addressedTenant, requireScope, principalOf } from '../../infra/http/auth';
import { HttpProblem, problems } from '../../infra/http/problem';
import { NDJSON, ingestNdjson } from './provenanceNdjson';
import { parseProvenanceBatch } from './provenanceBatchParse';
import { parseOrThrow } from '../../infra/http/validation';
import {
  InvalidCursorError,
  type ProvenanceFilter,
  type ProvenanceQueries,
} from '../../projections/provenance/provenanceQueries';
import type pg from 'pg';
import { divergenceReport } from '../../projections/provenance/divergenceReport';
import {
  divergenceQuery,
  driftStatsQuery,
  provenanceListQuery,
  provenanceRecordBody,
} from './provenanceSchemas';
import type { NewProvenanceRecord, ProvenanceWriter } from './provenanceWriter';

/** A day means the whole day, both as a start and as an (inclusive) end. */
function bound(value: string | undefined, end: boolean): Date | undefined {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    return new Date(`${value}T${end ? '23:59:59.999' : '00:00:00.000'}Z`);
  }
  return new Date(value);
}

/** Undefined = every tenant (a global key naming none); a tenant key reads its own tenant only. */
function readScope(req: Request, explicit: string | undefined): string | undefined {
  const tenant = addressedTenant(principalOf(req), explicit);
  return tenant === null ? undefined : tenant;
}

/** A record as the writer takes it, its tenant the request's (a tenant key writing another's: 403). */
export function toNewRecord(
  r: z.infer<typeof provenanceRecordBody>,
  principal: Principal,
): NewProvenanceRecord {
  return {
    run_id: r.run_id ?? null,
    tenant_id: addressedTenant(principal, r.tenant_id),
    variant_slug: r.variant_slug,
    source: r.source,
    model_version: r.model_version ?? null,
    adapter_version: r.adapter_version ?? null,
    commit_sha: r.commit_sha ?? null,
    input_hash: r.input_hash,
    output_hash: r.output_hash ?? null,
    v1_cost: r.v1_cost ?? null,
    v2_cost: r.v2_cost ?? null,
    drift_score: r.drift_score ?? null,
    verdict: r.verdict ?? null,
    payload: r.payload ?? {},
    runtime_ms: r.runtime_ms ?? null,
    ...(r.created_at ? { created_at: new Date(r.created_at).toISOString() } : {}),
  };
}

/** docs/api.md "Provenance": write one record, a batch or an NDJSON stream; query newest first; drift statistics. */
export function mountProvenanceRoutes(
  app: Express,
  deps: {
    writer: ProvenanceWriter;
    queries: ProvenanceQueries;
    pool: pg.Pool;
    modelVersion: string;
    /** Body limit of JSON writes, and the byte bound of one NDJSON chunk (COSTSIM_MAX_BATCH_BYTES). */
    maxBatchBytes: number;
    /** COSTSIM_DRIFT_THRESHOLD: the divergence report's fail_ratio counts stored drift scores above it */
    driftThreshold: number;
    /** The service's clock (default: the system's): the end of a window the query leaves open. */
    clock?: () => Date;
  },
): void {
  const clock = deps.clock ?? (() => new Date());
  app.post('/costsim/provenance', requireScope('write'), async (req, res) => {
    const principal = principalOf(req);
    const metadata = { actor_key: principal.keyId, request_id: req.requestId };
    if (req.is(NDJSON)) {
      const result = await ingestNdjson(req, {
        writer: deps.writer,
        principal,
        toRecord: toNewRecord,
        maxChunkBytes: deps.maxBatchBytes,
        metadata,
      });
      if (result.inserted === 0) {
        const detail =
          result.rejected_count === 0
            ? 'The body holds no record'
            : `No line was valid (${result.rejected_count} rejected)`;
        throw new HttpProblem({
          status: 400,
          title: 'Invalid request',
          detail,
          slug: 'validation',
          extensions: { ...result },
        });
      }
      return void res.status(201).json(result);
    }
    const body: unknown = req.body ?? {};
    const given: Array<z.infer<typeof provenanceRecordBody>> =
      typeof body === 'object' && body !== null && 'records' in body
        ? await parseProvenanceBatch(body)
        : [parseOrThrow(provenanceRecordBody, body, 'body')];
    // Every record's tenant is the request's: a tenant key cannot write for another tenant (403).
    const records = given.map((r) => toNewRecord(r, principal));
    const ids = await deps.writer.write(records, metadata);
    res.status(201).json({ ids });
  });

  const filterOf = (
    req: Request,
    q: z.infer<typeof provenanceListQuery> | z.infer<typeof driftStatsQuery>,
  ) => {
    const filter: ProvenanceFilter = {};
    const tenant = readScope(req, q.tenant_id);
    if (tenant !== undefined) filter.tenant = tenant;
    const from = bound(q.start_date, false);
    const to = bound(q.end_date, true);
    if (from) filter.from = from;
    if (to) filter.to = to;
    if (from && to && from > to) {
      throw problems.validation([{ path: 'query.end_date', message: 'must not be before start_date' }]);
    }
    return filter;
  };

  // The window: [start_date, end_date] when given; end_date defaults to now, start_date to `days` (7) before it.
  app.get('/costsim/divergence', requireScope('read'), async (req, res) => {
    const q = parseOrThrow(divergenceQuery, req.query, 'query');
    const to = bound(q.end_date, true) ?? clock();
    const from = bound(q.start_date, false) ?? new Date(to.getTime() - (q.days ?? 7) * 86_400_000);
    if (from > to)
      throw problems.validation([{ path: 'query.end_date', message: 'must not be before start_date' }]);
    const tenant = readScope(req, q.tenant_id);
    res.json(
      await divergenceReport(
        deps.pool,
        { from, to, ...(tenant !== undefined ? { tenant } : {}) },
        { version: deps.modelVersion, driftThreshold: deps.driftThreshold },
      ),
    );
  });

  app.get('/costsim/provenance/drift-stats', requireScope('read'), async (req, res) => {
    const q = parseOrThrow(driftStatsQuery, req.query, 'query');
    res.json(await deps.queries.driftStats(filterOf(req, q), q.group_by ?? 'none'));
  });

  app.get('/costsim/provenance', requireScope('read'), async (req, res) => {
    const q = parseOrThrow(provenanceListQuery, req.query, 'query');
    const filter = filterOf(req, q);
    for (const key of ['variant_slug', 'source', 'input_hash', 'run_id'] as const) {
      const value = q[key];
      if (value !== undefined) filter[key] = value;
    }
    try {
      res.json(await deps.queries.list(filter, q.limit ?? 100, q.cursor));
    } catch (err) {
      if (err instanceof InvalidCursorError) {
        throw problems.validation([{ path: err.field, message: err.message }]);
      }
      throw err;
    }
  });
}
