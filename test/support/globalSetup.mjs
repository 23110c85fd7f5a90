// Finds the real components tests use, once for the whole run:
// - PostgreSQL: TEST_DATABASE_URL (CI: the machine's server), else an embedded PostgreSQL started here.
//   Each test file then creates its own fresh database.
// - Alertmanager: ALERTMANAGER_BIN or PATH, else testcontainers (prom/alertmanager) where a container
//   runtime answers, else none; the answer goes to the test files in COSTSIM_TEST_ALERTMANAGER, and alert
//   tests report themselves skipped, by name, with the reason (test/support/alertmanagerAvailability.ts).
import { createRequire } from 'node:module';
import { startEmbeddedTestPostgres } from './embeddedTestPostgres.mjs';

const require = createRequire(import.meta.url);
const { ENV, discoverAlertmanager } = require('./alertmanagerDiscovery.cjs');

async function startEmbeddedPostgres() {
  const server = await startEmbeddedTestPostgres();
  globalThis.__embeddedPostgres = server;
  process.env.TEST_DATABASE_URL = server.url;
  console.log(`\n[test] no TEST_DATABASE_URL: started embedded PostgreSQL on port ${server.port}`);
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
