/** Where a start-up step was pointed, to name it in the error line. */
export interface StartupTarget {
  databaseUrl?: string;
  listen?: { host: string; port: number };
}

/** host:port/database of a postgres URL, without credentials. */
export function describeDatabase(url: string | undefined): string {
  if (!url || !URL.canParse(url)) return 'the database';
  const u = new URL(url);
  return `${u.hostname}:${u.port || '5432'}${u.pathname || '/'}`;
}

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset',
};

const POSTGRES_CODES: Record<string, string> = {
  '28P01': 'password authentication failed',
  '28000': 'authentication refused (pg_hba.conf)',
  '3D000': 'database does not exist',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'too many connections',
};

/**
 * A fatal start-up error as ONE line an operator can act on: what failed, where, and what to check. No
 * stack trace (LOG_LEVEL=debug logs it).
 */
export function startupErrorLine(err: unknown, target: StartupTarget = {}): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  if (code === 'EADDRINUSE' && target.listen) {
    return `fatal: cannot listen on ${target.listen.host}:${target.listen.port}: the address is already in use; set PORT (or HOST) to a free one, or stop the process holding it`;
  }
  if (code === 'EACCES' && target.listen) {
    return `fatal: cannot listen on ${target.listen.host}:${target.listen.port}: permission denied (ports below 1024 need privileges); set PORT`;
  }
  if (code && (CONNECTION_CODES[code] || POSTGRES_CODES[code])) {
    const what = CONNECTION_CODES[code] ?? POSTGRES_CODES[code];
    return `fatal: cannot reach PostgreSQL at ${describeDatabase(target.databaseUrl)} (${code}: ${what}): check that the server is running and reachable from here, and that DATABASE_URL (host, port, user, password, database) is right`;
  }
  return `fatal: ${message}`;
}
