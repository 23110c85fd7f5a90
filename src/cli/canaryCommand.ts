import type { Command } from 'commander';
import { loadDatasetCatalog } from '../commands/canary/datasetCatalog';
import { v2EngineFromConfig } from '../commands/canary/canaryEngine';
import { runOnceIfLeader } from '../commands/canary/canaryLeadership';
import { CanaryRunner, DatasetNotFoundError } from '../commands/canary/canaryRunner';
import { reportCanaryToBreaker } from '../commands/canary/canaryBreakerPort';
import { BreakerCommandService } from '../commands/breaker/breakerCommandService';
import { breakerPolicyFromConfig } from '../commands/breaker/breakerPolicyFromConfig';
import { validateDataset } from '../commands/canary/canarySamples';
import type { GoldenValidationResult } from '../domain/canary/goldenValidation';
import type { Config } from '../infra/config/config';
import { PostgresEventStore } from '../infra/eventStore/postgresEventStore';
import { LockIds } from '../infra/postgres/lockIds';
import { migrateLatest } from '../infra/postgres/migrate';
import { createPool } from '../infra/postgres/pool';
import {
  CliError,
  type DatabaseOptions,
  ExitCode,
  cliActor,
  loadCliConfig,
  output,
  positiveInt,
  withDatabase,
  withDatabaseOptions,
} from './cliContext';
import { canaryJudgeSettings } from '../commands/canary/canaryJudgeSettings';

/** The catalog as the service loads it; rejected files go to stderr, named with the wrong field. */
function catalogOf(config: Config) {
  const catalog = loadDatasetCatalog(config.canary.datasetsDir);
  for (const p of catalog.problems) process.stderr.write(`dataset file rejected: ${p.file}: ${p.message}\n`);
  return catalog;
}

const describe = (r: GoldenValidationResult): string =>
  `${r.dataset_id}: ${r.verdict} (mean ${r.mean_error}, median ${r.median_error}, std ${r.std_deviation}, ` +
  `outliers ${r.outlier_pct}, drift ${r.drift_score})` +
  r.details.exceeded.map((e) => `\n  ${e.metric} ${e.value} > ${e.threshold}`).join('');

/** `costsim-guard datasets list|validate [id]`: no database needed (V2 is the configured one). */
export function registerDatasetsCommand(program: Command): Command {
  const datasets = program
    .command('datasets')
    .description('the golden datasets the canary validates V2 against');
  datasets
    .command('list')
    .description('built-in datasets and those of COSTSIM_DATASETS_DIR')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      const catalog = catalogOf(loadCliConfig());
      const rows = [...catalog.datasets.values()].map((d) => ({
        id: d.id,
        name: d.name,
        sample_count: d.samples.length,
        thresholds: d.thresholds,
      }));
      output(options, rows, () =>
        console.table(rows.map((r) => ({ id: r.id, name: r.name, samples: r.sample_count }))),
      );
      if (catalog.problems.length > 0) process.exitCode = ExitCode.failure;
    });
  datasets
    .command('validate [id]')
    .description('validate V2 against one dataset, or all; exit 1 when one is not acceptable')
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, options: { json?: boolean }) => {
      const config = loadCliConfig();
      const catalog = catalogOf(config);
      const chosen = id === undefined ? [...catalog.datasets.values()] : [catalog.datasets.get(id)];
      if (chosen.some((d) => d === undefined))
        throw new CliError(`Dataset not found: ${id}`, ExitCode.notFound);
      const engine = v2EngineFromConfig(config);
      try {
        const results: GoldenValidationResult[] = [];
        for (const d of chosen) results.push(await validateDataset(d!, engine));
        const all_passed = results.every((r) => r.verdict === 'acceptable');
        output(options, id === undefined ? { all_passed, results } : results[0], () =>
          process.stdout.write(`${results.map(describe).join('\n')}\n`),
        );
        if (!all_passed) process.exitCode = ExitCode.failure;
      } finally {
        await engine.close?.();
      }
    });
  return datasets;
}

/** `costsim-guard canary run`: one run, if no running service (or other CLI) holds the canary lock 7001. */
export function registerCanaryCommand(program: Command): Command {
  const canary = program
    .command('canary')
    .description('the canary: V2 judged against recent traffic and the datasets');
  withDatabaseOptions(
    canary
      .command('run')
      .description(
        'run the canary once (skipped when another instance is the leader); exit 1 unless it passed',
      )
      .option(
        '--sample-count <n>',
        'recent sandbox inputs to sample (default COSTSIM_CANARY_SAMPLE_COUNT)',
        positiveInt,
      )
      .option('--datasets <ids>', 'comma-separated dataset ids (default: all; "" = none)'),
  ).action((options: DatabaseOptions & { sampleCount?: number; datasets?: string }) =>
    withDatabase(options, async (url, config) => {
      await migrateLatest(url);
      const pool = createPool(url, { max: 2, applicationName: 'costsim-guard-cli' });
      const catalog = catalogOf(config);
      const engine = v2EngineFromConfig(config);
      try {
        const store = new PostgresEventStore(pool);
        const runner = new CanaryRunner({
          pool,
          store,
          engine,
          datasets: () => catalog.datasets,
          ...canaryJudgeSettings(config),
          instanceId: `cli@${config.instanceId}`,
          reportToBreaker: reportCanaryToBreaker(
            new BreakerCommandService(store, breakerPolicyFromConfig(config)),
            cliActor(),
          ),
        });
        const datasetIds =
          options.datasets === undefined
            ? null
            : options.datasets
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean);
        const report = await runOnceIfLeader(url, LockIds.canary, runner, {
          sampleCount: options.sampleCount ?? config.canary.sampleCount,
          datasetIds,
          trigger: 'cli',
        }).catch((err: unknown) => {
          if (err instanceof DatasetNotFoundError) throw new CliError(err.message, ExitCode.notFound);
          throw err;
        });
        output(options, report, () =>
          process.stdout.write(
            `canary ${report.run_id}: ${report.status} (${report.total_samples} samples, KL ${report.kl_divergence})\n` +
              report.failure_reasons.map((r) => `  ${r}\n`).join(''),
          ),
        );
        if (report.status !== 'pass') process.exitCode = ExitCode.failure;
      } finally {
        await engine.close?.();
        await pool.end();
      }
    }),
  );
  return canary;
}
