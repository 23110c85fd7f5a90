import { Command } from 'commander';
import { serviceVersion } from './infra/version';
import { registerAlertsCommand } from './cli/alertsCommand';
import { registerBreakersCommand } from './cli/breakersCommand';
import { registerCanaryCommand, registerDatasetsCommand } from './cli/canaryCommand';
import { registerMigrateCommand } from './cli/migrateCommand';
import { registerProjectionsCommand } from './cli/projectionsCommand';
import { registerServeCommand } from './cli/serveCommand';
import { CliError, withDatabase } from './cli/cliContext';
import { registerBackfillCommand } from './commands/provenance/backfillCommand';

/**
 * The costsim-guard CLI. Each command lives in its own file under src/cli/ and registers itself here with
 * one line; commands that reach the database use withDatabase() (DATABASE_URL, else the running
 * service's embedded database, else a clear "no service is running"), go through the same command
 * handlers as the HTTP API, record the actor cli:<os user>, and print JSON with --json.
 */
const program = new Command()
  .name('costsim-guard')
  .description('Control plane for rolling out CostSim V2 in shadow mode')
  .version(serviceVersion(), '-V, --version', 'print the version')
  .showHelpAfterError();

registerServeCommand(program);
registerMigrateCommand(program);
registerProjectionsCommand(program);
registerBreakersCommand(program);
registerAlertsCommand(program);
registerDatasetsCommand(program);
registerCanaryCommand(program);
registerBackfillCommand(program, (work) => withDatabase({}, work));

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
