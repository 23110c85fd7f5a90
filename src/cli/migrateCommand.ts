import type { Command } from 'commander';
import { migrateLatest } from '../infra/postgres/migrate';
import { output, withDatabase, withDatabaseOptions, type DatabaseOptions } from './cliContext';

export function registerMigrateCommand(program: Command): void {
  withDatabaseOptions(program.command('migrate').description('apply pending database migrations')).action(
    (options: DatabaseOptions) =>
      withDatabase(options, async (url) => {
        const applied = await migrateLatest(url);
        output(options, { applied }, () =>
          process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n'),
        );
      }),
  );
}
