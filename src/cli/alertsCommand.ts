import type { Command } from 'commander';
import { z } from 'zod';
import { purgeAlerts, retryFailedAlerts } from '../commands/alerts/alertAdminCommands';
import { alertStatus, purgeBody } from '../commands/alerts/alertSchemas';
import { PostgresEventStore } from '../infra/eventStore/postgresEventStore';
import { migrateLatest } from '../infra/postgres/migrate';
import { createPool } from '../infra/postgres/pool';
import { AlertQueries } from '../projections/alerts/alertQueries';
import {
  CliError,
  type DatabaseOptions,
  ExitCode,
  cliActor,
  output,
  positiveInt,
  withDatabase,
  withDatabaseOptions,
} from './cliContext';
import type pg from 'pg';

async function withAlerts<T>(
  options: DatabaseOptions,
  work: (deps: { queries: AlertQueries; store: PostgresEventStore; pool: pg.Pool }) => Promise<T>,
): Promise<T> {
  return withDatabase(options, async (url) => {
    await migrateLatest(url);
    const pool = createPool(url, { max: 2, applicationName: 'costsim-guard-cli' });
    try {
      return await work({ queries: new AlertQueries(pool), store: new PostgresEventStore(pool), pool });
    } finally {
      await pool.end();
    }
  });
}

export function registerAlertsCommand(program: Command): Command {
  const alerts = program
    .command('alerts')
    .description('the alert queue: what was sent, what is waiting or failed');

  withDatabaseOptions(
    alerts.command('stats').description('pending, sent and failed counts, oldest pending'),
  ).action((options: DatabaseOptions) =>
    withAlerts(options, async ({ queries }) => {
      const stats = await queries.stats();
      output(options, stats, () =>
        process.stdout.write(
          `pending ${stats.pending}, sent ${stats.sent}, failed ${stats.failed}` +
            (stats.oldest_pending ? `; oldest pending since ${stats.oldest_pending}` : '') +
            '\n',
        ),
      );
    }),
  );

  withDatabaseOptions(
    alerts
      .command('list')
      .description('queue rows, newest first')
      .option('--status <status>', 'pending, sent or failed')
      .option('--limit <n>', 'rows (default 100)', positiveInt),
  ).action((options: DatabaseOptions & { status?: string; limit?: number }) =>
    withAlerts(options, async ({ queries }) => {
      const status = options.status === undefined ? undefined : alertStatus.safeParse(options.status);
      if (status && !status.success) throw new CliError('--status: pending, sent or failed', ExitCode.usage);
      const rows = await queries.list({
        limit: options.limit ?? 100,
        ...(status?.data ? { status: status.data } : {}),
      });
      output(options, { alerts: rows }, () =>
        console.table(
          rows.map((r) => ({
            id: r.id.length > 48 ? `${r.id.slice(0, 45)}...` : r.id,
            type: r.alert_type,
            breaker: r.circuit_breaker_name ?? '',
            status: r.status,
            attempts: `${r.attempts}/${r.max_attempts}`,
            target: r.target ?? '(no Alertmanager configured)',
            last_error: (r.last_error ?? '').slice(0, 60),
            created_at: r.created_at,
          })),
        ),
      );
    }),
  );

  withDatabaseOptions(
    alerts
      .command('retry-failed')
      .description('put failed alerts back in the queue with more attempts')
      .option('--max-retries <n>', 'attempts added to each failed row (default 3)', positiveInt),
  ).action((options: DatabaseOptions & { maxRetries?: number }) =>
    withAlerts(options, async (deps) => {
      const retried = await retryFailedAlerts(deps, {
        extraAttempts: options.maxRetries ?? 3,
        actor: cliActor(),
        metadata: { actor_key: cliActor(), source: 'cli' },
      });
      output(options, { retried }, () =>
        process.stdout.write(`retried ${retried} failed alert${retried === 1 ? '' : 's'}\n`),
      );
    }),
  );

  withDatabaseOptions(
    alerts
      .command('purge')
      .description('delete sent/failed alerts older than N days')
      .option('--days <n>', 'older than this many days (default 30; 0 = all)', Number)
      .option('--statuses <list>', 'comma-separated: sent,failed (default both)'),
  ).action((options: DatabaseOptions & { days?: number; statuses?: string }) =>
    withAlerts(options, async (deps) => {
      const parsed = purgeBody.safeParse({
        ...(options.days !== undefined ? { days: options.days } : {}),
        ...(options.statuses !== undefined
          ? { statuses: options.statuses.split(',').map((s) => s.trim()) }
          : {}),
      });
      if (!parsed.success) {
        throw new CliError(
          `invalid purge: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
          ExitCode.usage,
        );
      }
      const purged = await purgeAlerts(deps, {
        days: parsed.data.days ?? 30,
        statuses: parsed.data.statuses ?? ['sent', 'failed'],
        actor: cliActor(),
        metadata: { actor_key: cliActor(), source: 'cli' },
      });
      output(options, { purged }, () =>
        process.stdout.write(`purged ${purged} alert${purged === 1 ? '' : 's'}\n`),
      );
    }),
  );
  return alerts;
}
