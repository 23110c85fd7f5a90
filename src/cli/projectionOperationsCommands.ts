import { type Command, InvalidArgumentError, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import type pg from 'pg';
import { allProjections } from '../features';
import { PostgresEventStore } from '../infra/eventStore/postgresEventStore';
import { migrateLatest } from '../infra/postgres/migrate';
import { createPool } from '../infra/postgres/pool';
import type { Projection } from '../projections/projection';
import {
  type DeadLetterActionResult,
  DeadLetterActionRefused,
  retryDeadLetter,
  skipDeadLetter,
} from '../projections/runtime/deadLetterActions';
import { type DeadLetterStatus, listDeadLetters } from '../projections/runtime/deadLetters';
import { RebuildBusyError, RebuildFailedError, rebuildProjection } from '../projections/runtime/rebuild';
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

/** `projections rebuild` and `projections dead-letters …` (docs/projections.md). */

const projectionName = (v: string) => {
  if (!/^[a-z0-9_]+$/.test(v)) throw new InvalidArgumentError('a projection name is lower_snake_case');
  return v;
};

const uuid = (v: string) => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) {
    throw new InvalidArgumentError(`"${v}" is not an event id (a UUID)`);
  }
  return v.toLowerCase();
};

const collect =
  <T>(parse: (v: string) => T) =>
  (v: string, all: T[] = []) => [...all, parse(v)];

function findProjection(name: string): Projection {
  const found = allProjections().find((p) => p.name === name);
  if (found) return found;
  const names = allProjections().map((p) => p.name);
  throw new CliError(`unknown projection "${name}"; known: ${names.join(', ') || '(none)'}`, ExitCode.usage);
}

async function withPool<T>(options: DatabaseOptions, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  return withDatabase(options, async (url) => {
    await migrateLatest(url);
    const pool = createPool(url, { max: 4, applicationName: 'costsim-guard-cli' });
    try {
      return await work(pool);
    } finally {
      await pool.end();
    }
  });
}

export function registerRebuildCommand(projections: Command): void {
  withDatabaseOptions(
    projections
      .command('rebuild')
      .description(
        'replay every event into new copies of the tables and swap them in at once (safe on a running service)',
      )
      .argument('[names...]', 'projection names', collect(projectionName))
      .option('--all', 'every projection, one after another')
      .option('--batch-size <n>', 'events per transaction', positiveInt),
  ).action(
    (names: string[] | undefined, options: DatabaseOptions & { all?: boolean; batchSize?: number }) => {
      const wanted = options.all ? allProjections().map((p) => p.name) : (names ?? []);
      if (wanted.length === 0)
        throw new CliError('name a projection to rebuild, or pass --all', ExitCode.usage);
      const selected = wanted.map(findProjection);
      return withPool(options, async (pool) => {
        const store = new PostgresEventStore(pool);
        const results = [];
        for (const projection of selected) {
          const bar = new SingleBar(
            {
              format: `${projection.name} [{bar}] {percentage}% | {value}/{total} events | {eta}s`,
              stream: process.stderr,
            },
            Presets.shades_classic,
          );
          try {
            if (!options.json) bar.start(1, 0);
            const result = await rebuildProjection(pool, store, projection, {
              ...(options.batchSize ? { batchSize: options.batchSize } : {}),
              onProgress: (p) => {
                bar.setTotal(Math.max(p.total, 1));
                bar.update(p.processed);
              },
            });
            bar.stop();
            results.push({ projection: projection.name, ...result });
            if (!options.json)
              process.stdout.write(`rebuilt ${projection.name} from ${result.processed} events\n`);
          } catch (err) {
            bar.stop();
            if (err instanceof RebuildBusyError || err instanceof RebuildFailedError)
              throw new CliError(err.message);
            throw err;
          }
        }
        if (options.json) output(options, selected.length === 1 ? results[0] : results, () => {});
      });
    },
  );
}

const statusOption = new Option('--status <status>', 'which dead letters')
  .choices(['parked', 'retried', 'skipped', 'all'])
  .default('parked');

function describe(r: DeadLetterActionResult): string {
  switch (r.outcome) {
    case 'applied':
      return `${r.eventId}: applied`;
    case 'skipped':
      return `${r.eventId}: skipped`;
    case 'failed':
      return `${r.eventId}: failed again, still parked: ${r.error}`;
    case 'not_parked':
      return `${r.eventId}: not parked (${r.status}), nothing done`;
    case 'not_found':
      return `${r.eventId}: no such dead letter`;
  }
}

export function registerDeadLettersCommand(projections: Command): void {
  const deadLetters = projections
    .command('dead-letters')
    .description('events a projection parked because it could not apply them: list, retry or skip');

  withDatabaseOptions(
    deadLetters
      .command('list')
      .description('dead letters, oldest first, with the error each failed on')
      .option('--projection <name>', 'only this projection', projectionName)
      .addOption(statusOption),
  ).action((options: DatabaseOptions & { projection?: string; status: DeadLetterStatus | 'all' }) =>
    withPool(options, async (pool) => {
      const letters = await listDeadLetters(pool, {
        ...(options.projection ? { projection: options.projection } : {}),
        status: options.status,
      });
      output(options, letters, () => {
        if (letters.length === 0) return void process.stdout.write('no dead letters\n');
        for (const d of letters) {
          process.stdout.write(
            `${d.projection} ${d.eventId} ${d.eventType} ${d.streamName}@${d.streamVersion} ` +
              `${d.status} (parked ${d.parkedAt.toISOString()}, ${d.failures} failure${d.failures === 1 ? '' : 's'}` +
              `${d.resolvedBy ? `, ${d.status} by ${d.resolvedBy}` : ''})\n    ${d.error}\n`,
          );
        }
      });
    }),
  );

  const act = (
    name: 'retry' | 'skip',
    description: string,
    run: (
      pool: pg.Pool,
      projection: Projection,
      eventId: string,
      reason: string | null,
    ) => Promise<DeadLetterActionResult>,
  ) => {
    const command = deadLetters
      .command(name)
      .description(description)
      .argument('<projection>', 'projection name', projectionName)
      .argument('[event-ids...]', 'event ids of parked dead letters', collect(uuid))
      .option('--all', 'every parked dead letter of the projection');
    if (name === 'skip') command.option('--reason <text>', 'why (kept with the decision)');
    withDatabaseOptions(command).action(
      (
        projectionArg: string,
        ids: string[] | undefined,
        options: DatabaseOptions & { all?: boolean; reason?: string },
      ) => {
        const projection = findProjection(projectionArg);
        if (!options.all && !ids?.length)
          throw new CliError('name the event ids, or pass --all', ExitCode.usage);
        return withPool(options, async (pool) => {
          const eventIds = options.all
            ? (await listDeadLetters(pool, { projection: projection.name, status: 'parked' })).map(
                (d) => d.eventId,
              )
            : ids!;
          const results: DeadLetterActionResult[] = [];
          let refused: string | null = null;
          try {
            for (const eventId of eventIds)
              results.push(await run(pool, projection, eventId, options.reason ?? null));
          } catch (err) {
            if (!(err instanceof DeadLetterActionRefused)) throw err;
            refused = err.message;
          }
          output(options, results, () => {
            if (eventIds.length === 0)
              process.stdout.write(`no parked dead letters for ${projection.name}\n`);
            for (const r of results) process.stdout.write(`${describe(r)}\n`);
          });
          if (refused) throw new CliError(refused);
          if (results.some((r) => r.outcome === 'failed')) process.exitCode = ExitCode.failure;
          else if (results.some((r) => r.outcome === 'not_found')) process.exitCode = ExitCode.notFound;
        });
      },
    );
  };

  act(
    'retry',
    'apply parked events again now (after a fix); each outcome is recorded',
    (pool, projection, eventId) =>
      retryDeadLetter(pool, new PostgresEventStore(pool), projection, eventId, cliActor()),
  );
  act(
    'skip',
    'resolve parked events without applying them; recorded with the reason',
    (pool, projection, eventId, reason) => skipDeadLetter(pool, projection.name, eventId, cliActor(), reason),
  );
}
