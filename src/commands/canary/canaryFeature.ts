import type { FeatureDefinition } from '../../infra/composition/featureModule';
import { LockIds } from '../../infra/postgres/lockIds';
import { CanaryReportQueries } from '../../projections/canary/canaryReportQueries';
import { canaryReportsProjection } from '../../projections/canary/canaryReportsProjection';
import { type DatasetCatalog, loadDatasetCatalog } from './datasetCatalog';
import { CanaryLeadership } from './canaryLeadership';
import { CanaryMetrics } from './canaryMetrics';
import { canaryRouteDocs } from './canaryRouteDocs';
import { mountCanaryRoutes } from './canaryRoutes';
import { CanaryRunner } from './canaryRunner';
import { v2EngineFromConfig } from './canaryEngine';
import { validateDataset } from './canarySamples';
import { CANARY_BREAKER, reportCanaryToBreaker } from './canaryBreakerPort';
import type { BreakerStateCache } from '../../projections/breaker/breakerStateCache';
import type { BreakerCommandService } from '../breaker/breakerCommandService';
import { canaryJudgeSettings } from './canaryJudgeSettings';

/**
 * The canary (docs/domain.md §6): golden datasets (built-in + COSTSIM_DATASETS_DIR), leader-elected runs on a
 * schedule and on demand, results as events projected into canary_reports.
 */
/** The canary slice's in-process API (tests wait on its leadership). */
export interface CanaryApi {
  runner: CanaryRunner;
  leadership: CanaryLeadership;
  queries: CanaryReportQueries;
  catalog: DatasetCatalog;
}

/** What the canary uses of the breaker slice: its commands (a failed run trips) and the gate's states. */
export interface CanaryDeps {
  breaker: { service: BreakerCommandService; cache: BreakerStateCache };
}

export const canaryFeature: FeatureDefinition<CanaryApi, CanaryDeps> = {
  name: 'canary',
  projections: [canaryReportsProjection],
  routes: canaryRouteDocs,
  create(ctx, { breaker }) {
    const { config, logger } = ctx;
    const catalog = loadDatasetCatalog(config.canary.datasetsDir);
    for (const problem of catalog.problems) {
      logger.error(
        { dataset_file: problem.file, problem: problem.message },
        `dataset file rejected: ${problem.file}: ${problem.message}`,
      );
    }
    logger.info({ datasets: [...catalog.datasets.keys()] }, 'golden datasets loaded');
    const datasets = () => catalog.datasets;
    // COSTSIM_CANARY_DATASETS must name loaded datasets: a typo would otherwise fail every scheduled run.
    for (const id of config.canary.datasets ?? []) {
      if (!catalog.datasets.has(id)) {
        throw new Error(
          `COSTSIM_CANARY_DATASETS: Dataset not found: ${id} (loaded: ${[...catalog.datasets.keys()].join(', ')})`,
        );
      }
    }
    const engine = v2EngineFromConfig(config, logger);
    const metrics = new CanaryMetrics(ctx.metrics.registry);
    const runner = new CanaryRunner({
      pool: ctx.pool,
      store: ctx.store,
      engine,
      datasets,
      ...canaryJudgeSettings(config),
      instanceId: config.instanceId,
      logger,
      onReport: (report) => metrics.onReport(report),
      now: ctx.clock,
      reportToBreaker: reportCanaryToBreaker(breaker.service),
    });
    const leadership = new CanaryLeadership({
      connectionString: ctx.connectionString,
      lockId: LockIds.canary,
      runner,
      enabled: config.canaryEnabled,
      schedule: config.canary.schedule,
      timeZone: config.canary.timeZone,
      scheduledSampleCount: config.canary.sampleCount,
      scheduledDatasets: config.canary.datasets,
      ...(config.breaker.recoveryRequiresCanary
        ? {
            recovery: {
              pollMs: config.breaker.recoveryPollMs,
              halfOpen: () => {
                const state = breaker.cache.state(CANARY_BREAKER.name, CANARY_BREAKER.tenantId);
                return state?.open && state.half_open ? `${state.incident_id}@${state.disabled_until}` : null;
              },
            },
          }
        : {}),
      logger,
    });
    const queries = new CanaryReportQueries(ctx.pool);
    const api: CanaryApi = { runner, leadership, queries, catalog };
    return {
      api,
      async start() {
        leadership.start();
      },
      async stop() {
        await leadership.stop();
        await engine.close?.();
      },
      mount(app) {
        mountCanaryRoutes(app, {
          leadership,
          queries,
          datasets,
          defaultSampleCount: config.canary.sampleCount,
          clock: ctx.clock,
          // a validation through the routes also updates the golden gauge
          validate: async (dataset) => {
            const result = await validateDataset(dataset, engine);
            metrics.onGolden(result);
            return result;
          },
        });
      },
    };
  },
};
