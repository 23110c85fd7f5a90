import type { Command } from 'commander';
import { migrateLatest } from '../infra/postgres/migrate';
import { createPool } from '../infra/postgres/pool';
import { projectionStatuses } from '../projections/runtime/lag';
import { type DatabaseOptions, output, withDatabase, withDatabaseOptions } from './cliContext';
import { registerDeadLettersCommand, registerRebuildCommand } from './projectionOperationsCommands';

function status(projections: Command): void {
  withDatabaseOptions(
    projections
      .command('status')
      .description('checkpoint, lag, failure and dead letters of every projection'),
  ).action((options: DatabaseOptions) =>
    withDatabase(options, async (url) => {
      await migrateLatest(url);
      const pool = createPool(url, { max: 2 });
      try {
        const statuses = await projectionStatuses(pool);
        output(options, statuses, () => {
          if (statuses.length === 0) return void process.stdout.write('no projections have run yet\n');
          console.table(
            statuses.map((s) => ({
              projection: s.name,
              checkpoint: `${s.transactionId}/${s.globalPosition}`,
              lag_events: s.lagEvents,
              lag_seconds: Number(s.lagSeconds.toFixed(3)),
              updated_at: s.updatedAt.toISOString(),
              failing: s.failure ? `${s.failure.count}x, last ${s.failure.at.toISOString()}` : '',
              dead_letters: s.deadLetters,
            })),
          );
          for (const s of statuses) {
            if (s.failure) process.stdout.write(`${s.name} is stuck: ${s.failure.message}\n`);
          }
        });
      } finally {
        await pool.end();
      }
    }),
  );
}

/** `projections …`; returns the group so other files can add subcommands (dead letters, …) to it. */
export function registerProjectionsCommand(program: Command): Command {
  const projections = program.command('projections').description('inspect and rebuild read models');
  status(projections);
  registerRebuildCommand(projections);
  registerDeadLettersCommand(projections);
  return projections;
}
