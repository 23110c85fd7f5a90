import type { Request } from 'express';
import {
  divergenceResponse,
  driftStatsResponse,
  provenanceListResponse,
  provenanceWriteResponse,
} from './provenanceResponseSchemas';
import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { NDJSON } from './provenanceNdjson';
import { provenanceProjection } from '../../projections/provenance/provenanceProjection';
import { driftRollupProjection } from '../../projections/provenance/driftRollupProjection';
import { ProvenanceQueries } from '../../projections/provenance/provenanceQueries';
import { mountProvenanceRoutes } from './provenanceRoutes';
import { ProvenanceWriter } from './provenanceWriter';
import { ProvenanceRetention } from './provenanceRetention';
import { LockIds } from '../../infra/postgres/lockIds';
import {
  divergenceQuery,
  driftStatsQuery,
  provenanceWriteBody,
  provenanceListQuery,
} from './provenanceSchemas';

/** The provenance slice's in-process API (the simulation records its pairs through the writer). */
export interface ProvenanceApi {
  queries: ProvenanceQueries;
  writer: ProvenanceWriter;
  retention: ProvenanceRetention;
}

/** Provenance (docs/domain.md §5): every V1/V2 pair recorded as an event, projected into `provenance`. */
export const provenanceFeature: FeatureDefinition<ProvenanceApi> = {
  name: 'provenance',
  // drift_rollup: its own lane from the same events, so drift-stats does not read every row of its window.
  projections: [provenanceProjection, driftRollupProjection],
  routes: [
    {
      method: 'post',
      path: '/costsim/provenance',
      response: provenanceWriteResponse,
      status: 201,
      alternativeBodies: {
        'application/x-ndjson': {
          schema: {
            type: 'string',
            description: 'One provenance record (the JSON record schema) per line; any number of lines',
          },
          description: 'bulk ingest',
        },
      },
      summary:
        'Record one provenance record, {records: [...]} (at most 10 000), or an NDJSON stream (one record per line)',
      scope: 'write',
      body: provenanceWriteBody,
    },
    {
      method: 'get',
      path: '/costsim/provenance',
      response: provenanceListResponse,
      summary: 'Provenance records, newest first, with a cursor',
      scope: 'read',
      query: provenanceListQuery,
    },
    {
      method: 'get',
      path: '/costsim/divergence',
      response: divergenceResponse,
      summary: 'V1 vs V2 divergence over the recorded sandbox pairs of a window (default 7 days)',
      scope: 'read',
      query: divergenceQuery,
    },
    {
      method: 'get',
      path: '/costsim/provenance/drift-stats',
      response: driftStatsResponse,
      summary: 'Cost-delta statistics over records with both costs',
      scope: 'read',
      query: driftStatsQuery,
    },
  ],
  create(ctx) {
    const queries = new ProvenanceQueries(ctx.pool, ctx.clock);
    const writer = new ProvenanceWriter(ctx.store, ctx.clock);
    const retention = new ProvenanceRetention({
      connectionString: ctx.connectionString,
      lockId: LockIds.provenanceRetention,
      pool: ctx.pool,
      store: ctx.store,
      retentionDays: ctx.config.provenanceRetentionDays,
      logger: ctx.logger,
      clock: ctx.clock,
    });
    const isWrite = (req: Request) => req.method === 'POST' && req.path === '/costsim/provenance';
    const api: ProvenanceApi = { queries, writer, retention };
    return {
      api,
      // docs/api.md Conventions: provenance writes take COSTSIM_MAX_BATCH_BYTES (a 10 000-record batch fits);
      // an NDJSON upload is read by its route as a stream, line by line, with no total limit.
      bodyLimit: (req) => (isWrite(req) ? ctx.config.maxBatchBytes : undefined),
      streamsBody: (req) => isWrite(req) && req.is(NDJSON) === NDJSON,
      async start() {
        retention.start();
      },
      stop: () => retention.stop(),
      mount(app) {
        mountProvenanceRoutes(app, {
          writer,
          queries,
          pool: ctx.pool,
          modelVersion: ctx.config.modelVersion,
          maxBatchBytes: ctx.config.maxBatchBytes,
          driftThreshold: ctx.config.breaker.driftThreshold,
          clock: ctx.clock,
        });
      },
    };
  },
};
