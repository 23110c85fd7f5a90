import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
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

/**
 * `projections rebuild` and `projections dead-letters …` (docs/projections.md). Registered on the
 * `projections` command group by the CLI; `withDatabase` gives the database URL the CLI resolved.
 */
export type WithDatabase = (work: (url: string) => Promise<void>) => Promise<void>;

const EXIT_USAGE = 2;
const EXIT_NOT_FOUND = 4;

/** Operators' actions from the CLI are recorded as done by `cli:<os user>`. */
function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? 'unknown'}`; // no passwd entry (some containers)
  }
}

const projectionName = (v: string) => {
  if (!/^[a-z0-9_]+$/.test(v)) throw new InvalidArgumentError('a projection name is lower_snake_case');
  return v;
};

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
};

const uuid = (v: string) => {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) {
    throw new InvalidArgumentError(`"${v}" is not an event id (a UUID)`);
  }
  return v.toLowerCase();
};

function findProjection(name: string): Projection | null {
  const found = allProjections().find((p) => p.name === name);
  if (found) return found;
  const names = allProjections().map((p) => p.name);
  process.stderr.write(`unknown projection "${name}"; known: ${names.join(', ') || '(none)'}\n`);
  process.exitCode = EXIT_USAGE;
  return null;
}

async function withPool(url: string, work: (pool: ReturnType<typeof createPool>) => Promise<void>) {
  await migrateLatest(url);
  const pool = createPool(url, { max: 4, applicationName: 'costsim-guard-cli' });
  try {
    await work(pool);
  } finally {
    await pool.end();
  }
}

export function registerRebuildCommand(projections: Command, withDatabase: WithDatabase): void {
  projections
    .command('rebuild')
    .description(
      'replay every event into new copies of the tables and swap them in at once (safe on a running service)',
    )
    .argument('[names...]', 'projection names', (v: string, all: string[] = []) => [
      ...all,
      projectionName(v),
    ])
    .option('--all', 'every projection, one after another')
    .option('--batch-size <n>', 'events per transaction', positiveInt)
    .option('--json', 'print JSON')
    .action((names: string[] | undefined, options: { all?: boolean; batchSize?: number; json?: boolean }) => {
      const wanted = options.all ? allProjections().map((p) => p.name) : (names ?? []);
      if (wanted.length === 0) {
        process.stderr.write('name a projection to rebuild, or pass --all\n');
        process.exitCode = EXIT_USAGE;
        return;
      }
      const selected = wanted.map(findProjection);
      if (selected.some((p) => p === null)) return;
      return withDatabase((url) =>
        withPool(url, async (pool) => {
          const store = new PostgresEventStore(pool);
          const results = [];
          for (const projection of selected as Projection[]) {
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
              if (!options.json) {
                process.stdout.write(`rebuilt ${projection.name} from ${result.processed} events\n`);
              }
            } catch (err) {
              bar.stop();
              if (err instanceof RebuildBusyError || err instanceof RebuildFailedError) {
                process.stderr.write(`${err.message}\n`);
                process.exitCode = 1;
                return;
              }
              throw err;
            }
          }
          if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        }),
      );
    });
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

export function registerDeadLettersCommand(projections: Command, withDatabase: WithDatabase): void {
  const deadLetters = projections
    .command('dead-letters')
    .description('events a projection parked because it could not apply them: list, retry or skip');

  deadLetters
    .command('list')
    .description('dead letters, oldest first, with the error each failed on')
    .option('--projection <name>', 'only this projection', projectionName)
    .addOption(statusOption)
    .option('--json', 'print JSON')
    .action((options: { projection?: string; status: DeadLetterStatus | 'all'; json?: boolean }) =>
      withDatabase((url) =>
        withPool(url, async (pool) => {
          const letters = await listDeadLetters(pool, {
            ...(options.projection ? { projection: options.projection } : {}),
            status: options.status,
          });
          if (options.json) return void process.stdout.write(`${JSON.stringify(letters, null, 2)}\n`);
          if (letters.length === 0) return void process.stdout.write('no dead letters\n');
          for (const d of letters) {
            process.stdout.write(
              `${d.projection} ${d.eventId} ${d.eventType} ${d.streamName}@${d.streamVersion} ` +
                `${d.status} (parked ${d.parkedAt.toISOString()}, ${d.failures} failure${d.failures === 1 ? '' : 's'}` +
                `${d.resolvedBy ? `, ${d.status} by ${d.resolvedBy}` : ''})\n    ${d.error}\n`,
            );
          }
        }),
      ),
    );

  const act = (
    name: 'retry' | 'skip',
    description: string,
    run: (
      pool: ReturnType<typeof createPool>,
      projection: Projection,
      eventId: string,
      options: { reason?: string },
    ) => Promise<DeadLetterActionResult>,
  ) => {
    const command = deadLetters
      .command(name)
      .description(description)
      .argument('<projection>', 'projection name', projectionName)
      .argument('[event-ids...]', 'event ids of parked dead letters', (v: string, all: string[] = []) => [
        ...all,
        uuid(v),
      ])
      .option('--all', 'every parked dead letter of the projection')
      .option('--json', 'print JSON');
    if (name === 'skip') command.option('--reason <text>', 'why (kept with the decision)');
    command.action(
      (
        projectionArg: string,
        ids: string[] | undefined,
        options: { all?: boolean; json?: boolean; reason?: string },
      ) => {
        const projection = findProjection(projectionArg);
        if (!projection) return;
        if (!options.all && !ids?.length) {
          process.stderr.write('name the event ids, or pass --all\n');
          process.exitCode = EXIT_USAGE;
          return;
        }
        return withDatabase((url) =>
          withPool(url, async (pool) => {
            const eventIds = options.all
              ? (await listDeadLetters(pool, { projection: projection.name, status: 'parked' })).map(
                  (d) => d.eventId,
                )
              : ids!;
            const results: DeadLetterActionResult[] = [];
            try {
              for (const eventId of eventIds) results.push(await run(pool, projection, eventId, options));
            } catch (err) {
              if (!(err instanceof DeadLetterActionRefused)) throw err;
              process.stderr.write(`${err.message}\n`);
              process.exitCode = 1;
            }
            if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
            else if (eventIds.length === 0)
              process.stdout.write(`no parked dead letters for ${projection.name}\n`);
            else for (const r of results) process.stdout.write(`${describe(r)}\n`);
            if (results.some((r) => r.outcome === 'failed')) process.exitCode = 1;
            else if (results.some((r) => r.outcome === 'not_found')) process.exitCode = EXIT_NOT_FOUND;
          }),
        );
      },
    );
  };

  act(
    'retry',
    'apply parked events again now (after a fix); each outcome is recorded',
    (pool, projection, eventId) =>
      retryDeadLetter(pool, new PostgresEventStore(pool), projection, eventId, actor()),
  );
  act(
    'skip',
    'resolve parked events without applying them; recorded with the reason',
    (pool, projection, eventId, o) =>
      skipDeadLetter(pool, projection.name, eventId, actor(), o.reason ?? null),
  );
}
