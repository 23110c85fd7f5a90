import type { Express, Request } from 'express';
import type { GoldenDataset } from '../../domain/canary/goldenDataset';
import type { GoldenValidationResult } from '../../domain/canary/goldenValidation';
import { principalOf, requireScope } from '../../infra/http/auth';
import { problems } from '../../infra/http/problem';
import { parseOrThrow } from '../../infra/http/validation';
import type { CanaryReportQueries } from '../../projections/canary/canaryReportQueries';
import type { CanaryLeadership } from './canaryLeadership';
import { DatasetNotFoundError } from './canaryRunner';
import { canaryReportsQuery, canaryRunBody } from './canarySchemas';

/** Canary runs read every tenant's sandbox traffic: only a global (not tenant-bound) admin key may start one. */
function requireGlobalKey(req: Request): void {
  if (principalOf(req).keyTenant !== null) {
    throw problems.forbidden('Running the canary needs a global (not tenant-bound) admin key');
  }
}

export const datasetSummary = (d: GoldenDataset) => ({
  id: d.id,
  name: d.name,
  description: d.description,
  sample_count: d.samples.length,
  thresholds: d.thresholds,
});

/** docs/api.md canary and dataset rows. */
export function mountCanaryRoutes(
  app: Express,
  deps: {
    leadership: CanaryLeadership;
    queries: CanaryReportQueries;
    datasets: () => ReadonlyMap<string, GoldenDataset>;
    validate: (dataset: GoldenDataset) => Promise<GoldenValidationResult>;
    defaultSampleCount: number;
    /** The service's clock (default: the system's). */
    clock?: () => Date;
  },
): void {
  const clock = deps.clock ?? (() => new Date());
  const dataset = (id: string): GoldenDataset => {
    const found = deps.datasets().get(id);
    if (!found) throw problems.notFound(`Dataset not found: ${id}`);
    return found;
  };

  app.post('/costsim/canary/run', requireScope('admin'), async (req, res) => {
    requireGlobalKey(req);
    const body = parseOrThrow(canaryRunBody, req.body ?? {}, 'body');
    try {
      const report = await deps.leadership.runNow({
        sampleCount: body.sample_count ?? deps.defaultSampleCount,
        datasetIds: body.dataset_ids ?? null,
        trigger: 'manual',
      });
      res.json(report);
    } catch (err) {
      if (err instanceof DatasetNotFoundError) throw problems.notFound(err.message);
      throw err;
    }
  });

  app.get('/costsim/canary/reports', requireScope('read'), async (req, res) => {
    const q = parseOrThrow(canaryReportsQuery, req.query, 'query');
    res.json(
      await deps.queries.list({
        limit: q.limit ?? 20,
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.passed !== undefined ? { passed: q.passed } : {}),
      }),
    );
  });

  app.get('/costsim/canary/reports/:run_id', requireScope('read'), async (req, res) => {
    const runId = String(req.params.run_id);
    const report = await deps.queries.get(runId);
    if (!report) throw problems.notFound(`Canary report not found: ${runId}`);
    res.json(report);
  });

  app.get('/costsim/datasets', requireScope('read'), (_req, res) => {
    res.json([...deps.datasets().values()].map(datasetSummary));
  });

  app.get('/costsim/datasets/:id', requireScope('read'), (req, res) => {
    const d = dataset(String(req.params.id));
    res.json({ ...datasetSummary(d), samples: d.samples });
  });

  app.post('/costsim/datasets/validate-all', requireScope('admin'), async (_req, res) => {
    const results = [];
    for (const d of deps.datasets().values()) results.push(await deps.validate(d));
    res.json({
      all_passed: results.every((r) => r.verdict === 'acceptable'),
      results,
      timestamp: clock().toISOString(),
    });
  });

  app.post('/costsim/datasets/:id/validate', requireScope('admin'), async (req, res) => {
    res.json(await deps.validate(dataset(String(req.params.id))));
  });
}
