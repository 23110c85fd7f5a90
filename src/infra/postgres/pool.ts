import pg from 'pg';

export type Pool = pg.Pool;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
}

/**
 * A pooled connection set. `idle_in_transaction_session_timeout` bounds how long a stuck transaction can
 * hold back event-store readers (architecture.md: a long-open transaction delays them).
 */
export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'costsim-guard',
    options: '-c idle_in_transaction_session_timeout=60000',
  });
  // An idle client that dies (server restart, pg_terminate_backend) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** A dedicated, non-pooled connection: for advisory locks and LISTEN, which are per session. */
export async function connectDedicated(
  connectionString: string,
  applicationName: string,
): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, application_name: applicationName });
  await client.connect();
  return client;
}

export type PgError = Error & { code: string; detail?: string; constraint?: string };

export function isPgError(err: unknown, code?: string): err is PgError {
  if (!(err instanceof Error)) return false;
  const actual = (err as Partial<PgError>).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
