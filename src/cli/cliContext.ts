import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import pg from 'pg';
import { type Config, ConfigError, loadConfig } from '../infra/config/config';
import { unknownVariableWarnings } from '../infra/config/unknownVariables';
import { startEmbeddedPostgres } from '../infra/postgres/embeddedPostgres';
import { processAlive, readServiceRecord, serviceRecordPath } from './serviceRecord';
import { describeDatabase, startupErrorLine } from './startupErrors';

/** A CLI failure with its own exit code and one-line message (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Exit codes: 2 bad configuration or arguments, 3 no service to reach, 4 not found. */
export const ExitCode = { failure: 1, usage: 2, noService: 3, notFound: 4 } as const;

/** The configuration, with warnings about unknown COSTSIM_* variables; a bad one exits 2 with each problem. */
export function loadCliConfig(): Config {
  for (const warning of unknownVariableWarnings()) process.stderr.write(`warning: ${warning}\n`);
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, ExitCode.usage);
    throw err;
  }
}

/** Operators' actions from the CLI are recorded as done by `cli:<os user>`. */
export function cliActor(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers): the environment's USER
  }
  return `cli:${user}`;
}

/** Options every command that reaches a database takes. */
export interface DatabaseOptions {
  json?: boolean;
  embedded?: boolean;
}

export function withDatabaseOptions(command: Command): Command {
  return command
    .option('--json', 'print JSON')
    .option(
      '--embedded',
      "when no service is running, start DATA_DIR's embedded PostgreSQL for this command",
    );
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The database a command works on: DATABASE_URL; else the running service's (DATA_DIR/service.json,
 * written by `serve` on the embedded database); else, with --embedded, DATA_DIR's embedded PostgreSQL
 * started for this command only. Otherwise it says plainly that no service is running and how to fix it.
 */
export async function withDatabase<T>(
  options: DatabaseOptions,
  work: (url: string, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadCliConfig();
  if (config.databaseUrl) return run(config.databaseUrl, config, work);
  const dataDir = resolve(config.dataDir);
  const record = readServiceRecord(config.dataDir);
  let why: string;
  if (!record) why = `${serviceRecordPath(config.dataDir)} does not exist`;
  else if (!processAlive(record.pid)) why = `the service recorded there (pid ${record.pid}) is not running`;
  else if (!(await answers(record.database_url))) {
    why = `its database at ${describeDatabase(record.database_url)} does not answer`;
  } else {
    if (!options.json)
      process.stderr.write(`using the service running at ${record.http_url} (pid ${record.pid})\n`);
    return run(record.database_url, config, work);
  }
  if (options.embedded) {
    process.stderr.write(`No service running: starting the embedded PostgreSQL under ${dataDir}/pg\n`);
    const embedded = await startEmbeddedPostgres(config.dataDir);
    try {
      return await run(embedded.url, config, work);
    } finally {
      await embedded.stop();
    }
  }
  throw new CliError(
    `No costsim-guard service is running for DATA_DIR=${dataDir} (${why}). ` +
      'Start one with `npm start` (or `costsim-guard serve`), set DATABASE_URL to reach a database directly, ' +
      'or pass --embedded to open the embedded database of DATA_DIR for this command.',
    ExitCode.noService,
  );
}

async function run<T>(url: string, config: Config, work: (url: string, config: Config) => Promise<T>) {
  try {
    return await work(url, config);
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|28P01|28000|3D000|57P03)$/.test(code)) {
      throw new CliError(startupErrorLine(err, { databaseUrl: url }));
    }
    throw err;
  }
}

/** Prints `value` as JSON with --json, else the human form. */
export function output(options: { json?: boolean }, value: unknown, human: () => void): void {
  if (options.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else human();
}

/** A commander argument parser for positive integers. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}
