import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool } from '../../src/infra/postgres/pool';
import { migrateLatest } from '../../src/infra/postgres/migrate';

/** The server tests use: TEST_DATABASE_URL, or the embedded one that globalSetup started. */
export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set (test/support/globalSetup.mjs sets it)');
  return url;
}

export interface TestDatabase {
  url: string;
  name: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file; `drop` ends every connection to it and removes it. */
export async function createTestDatabase(
  options: { migrate?: boolean; /** another server than TEST_DATABASE_URL's */ serverUrl?: string } = {},
): Promise<TestDatabase> {
  const server = options.serverUrl ?? adminUrl();
  const name = `costsim_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  if (options.migrate !== false) await migrateLatest(url.toString());
  const pool = createPool(url.toString(), { max: 20, applicationName: 'costsim-test' });
  return {
    url: url.toString(),
    name,
    pool,
    async drop() {
      await pool.end().catch(() => {});
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
