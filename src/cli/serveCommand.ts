import type { Command } from 'commander';
import { ApiKeyConfigError, type LoadedKeys, loadApiKeys } from '../infra/http/auth';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from '../infra/postgres/embeddedPostgres';
import { serviceVersion } from '../infra/version';
import { type RunningService, startService } from '../service';
import { CliError, ExitCode, loadCliConfig } from './cliContext';
import {
  processAlive,
  readServiceRecord,
  removeServiceRecord,
  serviceRecordPath,
  writeServiceRecord,
} from './serviceRecord';
import { startupErrorLine } from './startupErrors';

async function serve(): Promise<void> {
  const config = loadCliConfig();
  let embedded: EmbeddedPostgresHandle | null = null;
  let service: RunningService | undefined;
  let listen: { host: string; port: number } | undefined;
  let databaseUrl = config.databaseUrl;
  try {
    if (!databaseUrl) {
      const running = readServiceRecord(config.dataDir);
      if (running && running.pid !== process.pid && processAlive(running.pid)) {
        throw new CliError(
          `fatal: a costsim-guard service (pid ${running.pid}) already runs on DATA_DIR=${config.dataDir} at ${running.http_url}; stop it, or give this one another DATA_DIR`,
          ExitCode.usage,
        );
      }
      process.stderr.write(`No DATABASE_URL: starting embedded PostgreSQL under ${config.dataDir}/pg\n`);
      embedded = await startEmbeddedPostgres(config.dataDir);
      databaseUrl = embedded.url;
    }
    let keys: LoadedKeys;
    try {
      keys = loadApiKeys({ json: config.apiKeysJson, file: config.apiKeysFile, dataDir: config.dataDir });
    } catch (err) {
      if (err instanceof ApiKeyConfigError) {
        throw new CliError(`Invalid configuration:\n  - ${err.message}`, ExitCode.usage);
      }
      throw err;
    }
    // Without configured keys the service only listens on loopback (docs/api.md conventions).
    const host = keys.configured ? (config.host ?? '0.0.0.0') : '127.0.0.1';
    listen = { host, port: config.port };
    if (keys.generatedKey) {
      process.stderr.write(
        `No API keys configured: generated an admin key (shown once, kept in ${config.dataDir}/admin-api-key):\n` +
          `  ${keys.generatedKey}\n`,
      );
    }
    service = await startService({ config, databaseUrl, host, apiKeys: keys.keys });
  } catch (err) {
    await embedded?.stop().catch(() => {});
    if (err instanceof CliError) throw err;
    throw new CliError(
      startupErrorLine(err, { ...(databaseUrl ? { databaseUrl } : {}), ...(listen ? { listen } : {}) }),
    );
  }
  const running = service;
  // How CLI commands reach this service and its embedded database (DATA_DIR/service.json, mode 0600).
  if (embedded) {
    writeServiceRecord(config.dataDir, {
      pid: process.pid,
      database_url: embedded.url,
      http_url: running.url,
      started_at: new Date().toISOString(),
      version: serviceVersion(),
    });
  }
  process.stderr.write(
    `costsim-guard ${serviceVersion()} serving on ${running.url}` +
      (embedded
        ? ` (embedded PostgreSQL; CLI commands find it through ${serviceRecordPath(config.dataDir)})`
        : '') +
      '\n',
  );

  let signalled = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    process.stderr.write(`${signal}: shutting down\n`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    removeServiceRecord(config.dataDir);
    await running.stop();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', (s) => void shutdown(s));
  process.on('SIGTERM', (s) => void shutdown(s));
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API and run the projector and background workers')
    .action(serve);
}
