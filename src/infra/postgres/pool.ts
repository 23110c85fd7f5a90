import pg from 'pg';

export type Pool = pg.Pool;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** A statement running longer than this is cancelled by the server (0 = no limit). */
  statementTimeoutMs?: number;
}

/**
 * A pooled connection set. `idle_in_transaction_session_timeout` bounds how long a stuck transaction can
 * hold back event-store readers (docs/architecture.md: a long-open transaction delays them).
 */
export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'costsim-guard',
    options:
      '-c idle_in_transaction_session_timeout=60000' +
      (options.statementTimeoutMs ? ` -c statement_timeout=${Math.round(options.statementTimeoutMs)}` : ''),
  });
  // An idle client that dies (server restart, pg_terminate_backend) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `work` in one transaction on a client checked out of `pool`: commit if it resolves, rollback if it
 * throws. While checked out, pg-pool leaves the client without an 'error' listener, so a connection the
 * server terminates between two statements (pg_terminate_backend, failover, restart) would raise an
 * unhandled 'error' event and crash the process; here that error fails the transaction instead, and the
 * broken client is destroyed rather than returned to the pool.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  /** Statements to open with instead of a bare BEGIN (e.g. `begin; lock table …`): one round trip. */
  { begin = 'begin' }: { begin?: string } = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query(begin);
    const result = await work(client);
    if (broken) throw broken;
    await client.query('commit');
    return result;
  } catch (err) {
    if (!broken) await client.query('rollback').catch(() => {});
    throw broken ?? err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** A dedicated, non-pooled connection: for advisory locks and LISTEN, which are per session. */
export async function connectDedicated(
  connectionString: string,
  applicationName: string,
): Promise<pg.Client> {
  const client = new pg.Client({ connectionString, application_name: applicationName });
  // A connection the server drops between statements emits 'error'; unheard, that kills the process. The
  // failure reaches the owner anyway through its next query (owners add their own listeners to react).
  client.on('error', () => {});
  await client.connect();
  return client;
}

export type PgError = Error & { code: string; detail?: string; constraint?: string };

export function isPgError(err: unknown, code?: string): err is PgError {
  if (!(err instanceof Error)) return false;
  const actual = (err as Partial<PgError>).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}

/**
 * True when `err` says the database connection is gone or unusable (server shutdown or restart, a
 * terminated backend, a refused or dropped connection), not that a statement was wrong: the operation may
 * simply be tried again.
 */
export function isConnectionError(err: unknown): boolean {
  if (isPgError(err) && (err.code.startsWith('08') || /^57P0[1-3]$/.test(err.code))) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE|timeout exceeded when trying to connect/i.test(
    message,
  );
}
