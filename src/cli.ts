import { Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { type Config, ConfigError, loadConfig } from './infra/config/config';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './infra/postgres/embeddedPostgres';
import { migrateLatest } from './infra/postgres/migrate';
import { createPool } from './infra/postgres/pool';
import { PostgresEventStore } from './infra/eventStore/postgresEventStore';
import { projectionStatuses } from './projections/runtime/lag';
import { rebuildProjection } from './projections/runtime/rebuild';
import { allProjections } from './features';
import { startService } from './service';
import { ApiKeyConfigError, type LoadedKeys, loadApiKeys } from './infra/http/auth';
import { registerBackfillCommand } from './commands/provenance/backfillCommand';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** DATABASE_URL, or the embedded PostgreSQL under DATA_DIR (npm start with no configuration). */
async function database(config: Config): Promise<{ url: string; embedded: EmbeddedPostgresHandle | null }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: null };
  process.stderr.write(`No DATABASE_URL: starting embedded PostgreSQL under ${config.dataDir}/pg\n`);
  const embedded = await startEmbeddedPostgres(config.dataDir);
  return { url: embedded.url, embedded };
}

async function serve(): Promise<void> {
  const config = configOrExit();
  const { url, embedded } = await database(config);
  let keys: LoadedKeys;
  try {
    keys = loadApiKeys({ json: config.apiKeysJson, file: config.apiKeysFile, dataDir: config.dataDir });
  } catch (err) {
    await embedded?.stop();
    if (err instanceof ApiKeyConfigError) {
      process.stderr.write(`Invalid configuration:\n  - ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Without configured keys the service only listens on loopback (api.md conventions).
  const host = keys.configured ? (config.host ?? '0.0.0.0') : '127.0.0.1';
  if (keys.generatedKey) {
    process.stderr.write(
      `No API keys configured: generated an admin key (shown once, kept in ${config.dataDir}/admin-api-key):\n` +
        `  ${keys.generatedKey}\n`,
    );
  }
  let service;
  try {
    service = await startService({ config, databaseUrl: url, host, apiKeys: keys.keys });
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  let signalled = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    process.stderr.write(`${signal}: shutting down\n`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await service.stop();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', (s) => void shutdown(s));
  process.on('SIGTERM', (s) => void shutdown(s));
}

async function withDatabase<T>(work: (url: string, config: Config) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const { url, embedded } = await database(config);
  try {
    return await work(url, config);
  } finally {
    await embedded?.stop();
  }
}

const program = new Command()
  .name('costsim-guard')
  .description('Control plane for rolling out CostSim V2 in shadow mode')
  .showHelpAfterError();

program
  .command('serve')
  .description('serve the HTTP API and run the projector and background workers')
  .action(serve);

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(() =>
    withDatabase(async (url) => {
      const applied = await migrateLatest(url);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
    }),
  );

const projections = program.command('projections').description('inspect and rebuild read models');

projections
  .command('status')
  .description('checkpoint and lag of every projection')
  .option('--json', 'print JSON')
  .action((options: { json?: boolean }) =>
    withDatabase(async (url) => {
      await migrateLatest(url);
      const pool = createPool(url, { max: 2 });
      try {
        const statuses = await projectionStatuses(pool);
        if (options.json) return void process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
        if (statuses.length === 0) return void process.stdout.write('no projections have run yet\n');
        console.table(
          statuses.map((s) => ({
            projection: s.name,
            checkpoint: `${s.transactionId}/${s.globalPosition}`,
            lag_events: s.lagEvents,
            lag_seconds: Number(s.lagSeconds.toFixed(3)),
            updated_at: s.updatedAt.toISOString(),
            failing: s.failure ? `${s.failure.count}x since ${s.failure.at.toISOString()}` : '',
          })),
        );
        for (const s of statuses) {
          if (s.failure) process.stdout.write(`${s.name} is stuck: ${s.failure.message}\n`);
        }
      } finally {
        await pool.end();
      }
    }),
  );

projections
  .command('rebuild')
  .description("drop a projection's rows and checkpoint, then replay every event")
  .argument('<name>', 'projection name', (v: string) => {
    if (!/^[a-z0-9_]+$/.test(v)) throw new InvalidArgumentError('a projection name is lower_snake_case');
    return v;
  })
  .option('--batch-size <n>', 'events per transaction', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
    return n;
  })
  .action((name: string, options: { batchSize?: number }) =>
    withDatabase(async (url) => {
      const projection = allProjections().find((p) => p.name === name);
      if (!projection) {
        const names = allProjections().map((p) => p.name);
        process.stderr.write(`unknown projection "${name}"; known: ${names.join(', ') || '(none)'}\n`);
        process.exitCode = 2;
        return;
      }
      await migrateLatest(url);
      const pool = createPool(url, { max: 4 });
      const bar = new SingleBar(
        { format: `${name} [{bar}] {percentage}% | {value}/{total} events | {eta}s` },
        Presets.shades_classic,
      );
      try {
        bar.start(1, 0);
        const result = await rebuildProjection(pool, new PostgresEventStore(pool), projection, {
          ...(options.batchSize ? { batchSize: options.batchSize } : {}),
          onProgress: (p) => {
            bar.setTotal(Math.max(p.total, 1));
            bar.update(p.processed);
          },
        });
        bar.setTotal(Math.max(result.total, 1));
        bar.update(result.processed);
        bar.stop();
        process.stdout.write(`rebuilt ${name} from ${result.processed} events\n`);
      } finally {
        bar.stop();
        await pool.end();
      }
    }),
  );

registerBackfillCommand(program, withDatabase);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
