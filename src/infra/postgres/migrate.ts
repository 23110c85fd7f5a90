import knex from 'knex';
import { migrationNames, migrationSource } from '../../../migrations';
import { connectDedicated } from './pool';
import { LockIds } from './lockIds';

/**
 * Applies pending migrations. Replicas starting together serialise on an advisory lock instead of failing
 * on knex's own migration lock.
 */
export async function migrateLatest(connectionString: string): Promise<string[]> {
  const lockClient = await connectDedicated(connectionString, 'costsim-guard-migrate');
  const db = knex({ client: 'pg', connection: connectionString, pool: { min: 0, max: 1 } });
  try {
    await lockClient.query('select pg_advisory_lock($1)', [LockIds.migrations]);
    const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
    return applied;
  } finally {
    await db.destroy();
    await lockClient.query('select pg_advisory_unlock($1)', [LockIds.migrations]).catch(() => {});
    await lockClient.end().catch(() => {});
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
