import type { Express } from 'express';
import { z } from 'zod';
import type pg from 'pg';
import { principalOf, requireScope } from '../../infra/http/auth';
import type { RouteDoc } from '../../infra/http/openapi';
import { problems } from '../../infra/http/problem';
import { listDeadLetters } from './deadLetters';
import { projectionStatuses } from './lag';

const projectionsResponse = z.object({
  projections: z.array(
    z.object({
      name: z.string().describe('the projection, or <name>@rebuild for a rebuild in progress'),
      checkpoint: z.object({ transaction_id: z.string(), global_position: z.number().int() }),
      updated_at: z.string(),
      lag_events: z.number().int(),
      lag_seconds: z.number(),
      failure: z
        .object({
          message: z.string(),
          event_id: z.string().nullable(),
          at: z.string(),
          attempts: z.number().int(),
        })
        .nullable()
        .describe('set while the projection is stuck; cleared when its checkpoint moves'),
      dead_letters: z.array(
        z.object({
          event_id: z.string(),
          event_type: z.string(),
          stream: z.string(),
          stream_version: z.number().int(),
          error: z.string(),
          failures: z.number().int(),
          parked_at: z.string(),
        }),
      ),
    }),
  ),
});

export const projectionRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/costsim/projections',
    summary: 'Each projection with its checkpoint, lag, failure (with the error) and open dead letters',
    scope: 'admin',
    response: projectionsResponse,
  },
];

/**
 * What readiness leaves out for anonymous readers: the failure text of a stuck projection and the dead
 * letters with their errors. Global admin keys only (an error may quote any tenant's data).
 */
export function mountProjectionRoutes(app: Express, pool: pg.Pool): void {
  app.get('/costsim/projections', requireScope('admin'), async (req, res) => {
    if (principalOf(req).keyTenant !== null) throw problems.forbidden('This route needs a global admin key');
    const [statuses, deadLetters] = await Promise.all([
      projectionStatuses(pool),
      listDeadLetters(pool, { status: 'parked' }, 1000),
    ]);
    res.json({
      projections: statuses.map((s) => ({
        name: s.name,
        checkpoint: { transaction_id: s.transactionId, global_position: s.globalPosition },
        updated_at: s.updatedAt.toISOString(),
        lag_events: s.lagEvents,
        lag_seconds: Number(s.lagSeconds.toFixed(3)),
        failure: s.failure && {
          message: s.failure.message,
          event_id: s.failure.eventId,
          at: s.failure.at.toISOString(),
          attempts: s.failure.count,
        },
        dead_letters: deadLetters
          .filter((d) => d.projection === s.name)
          .map((d) => ({
            event_id: d.eventId,
            event_type: d.eventType,
            stream: d.streamName,
            stream_version: d.streamVersion,
            error: d.error,
            failures: d.failures,
            parked_at: d.parkedAt.toISOString(),
          })),
      })),
    });
  });
}
