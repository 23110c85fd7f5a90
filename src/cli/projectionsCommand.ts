import { type Command, InvalidArgumentError } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { allProjections } from '../features';
import { PostgresEventStore } from '../infra/eventStore/postgresEventStore';
import { migrateLatest } from '../infra/postgres/migrate';
import { createPool } from '../infra/postgres/pool';
import { projectionStatuses } from '../projections/runtime/lag';
import { rebuildProjection } from '../projections/runtime/rebuild';
import {
  CliError,
  ExitCode,
  type DatabaseOptions,
  output,
  positiveInt,
  withDatabase,
  withDatabaseOptions,
} from './cliContext';

function status(projections: Command): void {
  withDatabaseOptions(
    projections.command('status').description('checkpoint and lag of every projection'),
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
              failing: s.failure ? `${s.failure.count}x since ${s.failure.at.toISOString()}` : '',
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

function rebuild(projections: Command): void {
  withDatabaseOptions(
    projections
      .command('rebuild')
      .description("drop a projection's rows and checkpoint, then replay every event")
      .argument('<name>', 'projection name', (v: string) => {
        if (!/^[a-z0-9_]+$/.test(v)) throw new InvalidArgumentError('a projection name is lower_snake_case');
        return v;
      })
      .option('--batch-size <n>', 'events per transaction', positiveInt),
  ).action((name: string, options: DatabaseOptions & { batchSize?: number }) => {
    const projection = allProjections().find((p) => p.name === name);
    if (!projection) {
      const names = allProjections().map((p) => p.name);
      throw new CliError(
        `unknown projection "${name}"; known: ${names.join(', ') || '(none)'}`,
        ExitCode.usage,
      );
    }
    return withDatabase(options, async (url) => {
      await migrateLatest(url);
      const pool = createPool(url, { max: 4 });
      const bar = new SingleBar(
        { format: `${name} [{bar}] {percentage}% | {value}/{total} events | {eta}s`, stream: process.stderr },
        Presets.shades_classic,
      );
      try {
        if (!options.json) bar.start(1, 0);
        const result = await rebuildProjection(pool, new PostgresEventStore(pool), projection, {
          ...(options.batchSize ? { batchSize: options.batchSize } : {}),
          onProgress: (p) => {
            bar.setTotal(Math.max(p.total, 1));
            bar.update(p.processed);
          },
        });
        bar.stop();
        output(options, { projection: name, ...result }, () =>
          process.stdout.write(`rebuilt ${name} from ${result.processed} events\n`),
        );
      } finally {
        bar.stop();
        await pool.end();
      }
    });
  });
}

/** `projections …`; returns the group so other files can add subcommands (dead letters, …) to it. */
export function registerProjectionsCommand(program: Command): Command {
  const projections = program.command('projections').description('inspect and rebuild read models');
  status(projections);
  rebuild(projections);
  return projections;
}
