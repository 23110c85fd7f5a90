import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Config } from '../../infra/config/config';
import { PostgresEventStore } from '../../infra/eventStore/postgresEventStore';
import { LockIds } from '../../infra/postgres/lockIds';
import { migrateLatest } from '../../infra/postgres/migrate';
import { createPool } from '../../infra/postgres/pool';
import { allProjections } from '../../features';
import { Projector } from '../../projections/runtime/projector';
import { BackfillLockedError, runBaselineBackfill } from './baselineBackfill';
import { ProvenanceWriter } from './provenanceWriter';

type WithDatabase = <T>(work: (url: string, config: Config) => Promise<T>) => Promise<T>;

/** How long one chunk may take to reach the read model before the backfill gives up. */
const PROJECTION_WAIT_MS = 120_000;
const MAX_ERRORS_SHOWN = 20;

/**
 * `costsim-guard provenance backfill <file|dir>… [--dry-run]` (docs/simulation.md). Exit code 0 when every
 * item was inserted or skipped, 1 when some were errors, 3 when another backfill holds the lock.
 */
export function registerBackfillCommand(program: Command, withDatabase: WithDatabase): void {
  const provenance =
    program.commands.find((c) => c.name() === 'provenance') ??
    program.command('provenance').description('provenance records');
  provenance
    .command('backfill')
    .description(
      'V1 baseline backfill: run V1 on original provenance or plain inputs (JSON arrays or JSON Lines)',
    )
    .argument('<paths...>', 'files or directories (.json, .jsonl, .ndjson)')
    .option('--dry-run', 'count what would be inserted and skipped; write nothing')
    .option('--chunk-size <n>', 'records per append', (v) => Number(v), 1000)
    .action((paths: string[], options: { dryRun?: boolean; chunkSize: number }) =>
      withDatabase(async (url) => {
        await migrateLatest(url);
        const pool = createPool(url, { max: 4, applicationName: 'costsim-guard:backfill' });
        const store = new PostgresEventStore(pool);
        // The duplicate check reads the read model, so each chunk must reach it: a running service's
        // projector does that; without one, this process projects (it stands by if another leads).
        const projector = options.dryRun
          ? null
          : new Projector({
              pool,
              store,
              connectionString: url,
              projections: allProjections(),
              lockId: LockIds.projector,
              pollMs: 50,
              retryMs: 500,
            });
        projector?.start();
        const bar = new SingleBar(
          {
            format: 'backfill [{bar}] {percentage}% | inserted {inserted} skipped {skipped} errors {errors}',
            stream: process.stderr,
          },
          Presets.shades_classic,
        );
        let shown = 0;
        try {
          bar.start(1, 0, { inserted: 0, skipped: 0, errors: 0 });
          const counts = await runBaselineBackfill(paths, {
            connectionString: url,
            pool,
            writer: new ProvenanceWriter(store),
            lockId: LockIds.baselineBackfill,
            dryRun: options.dryRun === true,
            chunkSize:
              Number.isInteger(options.chunkSize) && options.chunkSize > 0
                ? Math.min(options.chunkSize, 10_000)
                : 1000,
            awaitProjected: (ids) => awaitProjected(pool, ids),
            onProgress: (done, total, c) => {
              bar.setTotal(Math.max(total, 1));
              bar.update(done, { ...c });
            },
            onError: (where, message) => {
              if (shown++ < MAX_ERRORS_SHOWN) process.stderr.write(`\n${where}: ${message}\n`);
            },
          });
          bar.stop();
          if (shown > MAX_ERRORS_SHOWN)
            process.stderr.write(`(${shown - MAX_ERRORS_SHOWN} more errors not shown)\n`);
          process.stdout.write(`${JSON.stringify(counts)}\n`);
          if (counts.errors > 0) process.exitCode = 1;
        } catch (err) {
          bar.stop();
          if (err instanceof BackfillLockedError) {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = 3;
            return;
          }
          throw err;
        } finally {
          await projector?.stop();
          await pool.end();
        }
      }),
    );
}

async function awaitProjected(pool: import('pg').Pool, ids: readonly string[]): Promise<void> {
  const deadline = Date.now() + PROJECTION_WAIT_MS;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      'select count(*)::int as n from provenance where id = any($1::uuid[])',
      [ids],
    );
    if (rows[0]!.n >= ids.length) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the provenance read model did not catch up within ${PROJECTION_WAIT_MS / 1000} s (is a projector stuck?)`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
