import knex from 'knex';
import type pg from 'pg';
import { migrationNames, migrationSource } from '../../../migrations';
import { connectDedicated } from './pool';
import { LockIds } from './lockIds';

/** How often a replica waiting for another's migrations tries the lock again. */
const LOCK_RETRY_MS = 100;

/**
 * Applies pending migrations. Replicas starting together serialise on an advisory lock instead of failing
 * on knex's own migration lock.
 *
 * The lock is TRIED, again and again, never waited for in a statement: a session blocked in
 * `pg_advisory_lock` is a running statement with a snapshot, and `create index concurrently` (migration
 * 105) waits for every snapshot older than its own to go — so the holder's index build would wait for the
 * waiter, the waiter for the holder's lock, and replicas starting together on a database that needs such a
 * migration would hang for good (PostgreSQL sees no deadlock: the holder's lock is on another, idle
 * session). test/integration/infra/concurrentMigrate.test.ts.
 */
export async function migrateLatest(connectionString: string): Promise<string[]> {
  const lockClient = await connectDedicated(connectionString, 'costsim-guard-migrate');
  const db = knex({ client: 'pg', connection: connectionString, pool: { min: 0, max: 1 } });
  try {
    await takeLock(lockClient);
    const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
    return applied;
  } finally {
    await db.destroy();
    await lockClient.query('select pg_advisory_unlock($1)', [LockIds.migrations]).catch(() => {});
    await lockClient.end().catch(() => {});
  }
}

async function takeLock(client: pg.ClientBase): Promise<void> {
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
      LockIds.migrations,
    ]);
    if (rows[0]?.locked) return;
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
}

/** Names of migrations not yet applied (readiness reports them). */
export async function pendingMigrations(query: (sql: string) => Promise<{ rows: Array<{ name: string }> }>) {
  try {
    const { rows } = await query('select name from knex_migrations');
    const applied = new Set(rows.map((r) => r.name));
    return migrationNames.filter((n) => !applied.has(n));
  } catch {
    return [...migrationNames];
  }
}
