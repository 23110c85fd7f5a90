import type pg from 'pg';
import { inputHash, v1OutputHash } from '../../domain/simulation/simulationHashes';
import { type RawPlanStep, normalizeInput } from '../../domain/simulation/simulationInput';
import { simulateV1 } from '../../domain/simulation/v1Simulator';
import { connectDedicated } from '../../infra/postgres/pool';
import { type BackfillInput, readBackfillInput } from './backfillRecord';
import { type SourceItem, backfillFiles, readBackfillFile } from './backfillSource';
import type { NewProvenanceRecord, ProvenanceWriter } from './provenanceWriter';

export interface BackfillCounts {
  inserted: number;
  skipped: number;
  errors: number;
}

export class BackfillLockedError extends Error {
  constructor(readonly lockId: number) {
    super(
      `another backfill holds the lock (advisory lock ${lockId}); run it again once that one has finished`,
    );
    this.name = 'BackfillLockedError';
  }
}

export interface BackfillOptions {
  connectionString: string;
  pool: pg.Pool;
  writer: ProvenanceWriter;
  lockId: number;
  dryRun: boolean;
  /** records per append (one event-store append each) */
  chunkSize?: number;
  /**
   * Resolves once the read model has every record of `ids` (the next chunk's duplicate check reads it).
   * The caller runs or waits for the projector.
   */
  awaitProjected(ids: readonly string[]): Promise<void>;
  onProgress?(bytesRead: number, bytesTotal: number, counts: BackfillCounts): void;
  onError?(where: string, message: string): void;
}

interface Prepared {
  readonly hash: string;
  readonly record: NewProvenanceRecord;
}

/** A record of what V1 answers for an input: variant v1, source backfill, V1's own output and hash. */
function baselineRecord(input: BackfillInput): Prepared {
  const normalized = normalizeInput({
    plan: input.body.plan.map((step, i) => {
      const written = input.written.plan[i] as { params?: unknown } | undefined;
      const params =
        written && typeof written.params === 'object' && written.params !== null
          ? written.params
          : step.params;
      return { ...step, params } as RawPlanStep;
    }),
    budget_cents: input.body.budget_cents ?? null,
    allowed_skills: input.body.allowed_skills ?? null,
    risk_threshold: input.body.risk_threshold ?? null,
  });
  const v1 = simulateV1(normalized);
  const hash = inputHash({ plan: input.written.plan, budget_cents: normalized.budget_cents });
  return {
    hash,
    record: {
      run_id: input.run_id,
      tenant_id: input.tenant_id,
      variant_slug: 'v1',
      source: 'backfill',
      model_version: null,
      adapter_version: null,
      commit_sha: null,
      input_hash: hash,
      output_hash: v1OutputHash(v1),
      v1_cost: v1.estimated_cost_cents,
      v2_cost: null,
      drift_score: null,
      verdict: null,
      payload: { input: input.body, v1_output: v1, origin: input.origin },
      runtime_ms: null,
      ...(input.created_at ? { created_at: input.created_at } : {}),
    },
  };
}

/**
 * The original's `backfill_v1_baseline` (docs/domain.md §5), lock 7004: reads JSON arrays or JSON Lines of
 * original provenance or plain inputs, streamed (memory bounded by one chunk), runs V1 on each and writes
 * `source: backfill` records through the provenance writer (events), one append per chunk. A record whose
 * input hash is already in the read model — or earlier in this run — is skipped; so is a re-run of the
 * same file. Each chunk is awaited into the read model before the next is checked, which is what lets the
 * check see this run's own records without remembering them all. A dry run writes nothing (and takes no
 * lock; it remembers this run's hashes to count duplicates).
 */
export async function runBaselineBackfill(
  paths: readonly string[],
  options: BackfillOptions,
): Promise<BackfillCounts> {
  const files = await backfillFiles(paths);
  const total = files.reduce((n, f) => n + f.bytes, 0);
  const counts: BackfillCounts = { inserted: 0, skipped: 0, errors: 0 };
  const chunkSize = options.chunkSize ?? 1000;
  const lock = options.dryRun ? null : await takeLock(options.connectionString, options.lockId);
  const seenInDryRun = new Set<string>();
  let bytes = 0;
  const progress = () => options.onProgress?.(bytes, total, counts);
  try {
    let chunk: Prepared[] = [];
    const flush = async () => {
      const batch = chunk;
      chunk = [];
      if (batch.length === 0) return;
      const { rows } = await options.pool.query<{ input_hash: string }>(
        'select distinct input_hash from provenance where input_hash = any($1::text[])',
        [batch.map((p) => p.hash)],
      );
      const existing = new Set(rows.map((r) => r.input_hash));
      const fresh: Prepared[] = [];
      for (const p of batch) {
        if (existing.has(p.hash) || seenInDryRun.has(p.hash)) counts.skipped++;
        else {
          existing.add(p.hash); // later duplicates in this chunk
          if (options.dryRun) seenInDryRun.add(p.hash);
          fresh.push(p);
        }
      }
      if (!options.dryRun && fresh.length > 0) {
        lock?.assertHeld();
        const ids = await options.writer.write(
          fresh.map((p) => p.record),
          { actor_key: 'backfill' },
        );
        await options.awaitProjected(ids);
      }
      counts.inserted += fresh.length;
      progress();
    };
    for (const file of files) {
      for await (const item of readBackfillFile(file.path, (n) => (bytes += n))) {
        const prepared = prepare(item);
        if ('error' in prepared) {
          counts.errors++;
          options.onError?.(prepared.where, prepared.error);
          continue;
        }
        chunk.push(prepared);
        if (chunk.length >= chunkSize) await flush();
      }
    }
    await flush();
    bytes = total;
    progress();
    return counts;
  } finally {
    await lock?.release();
  }
}

function prepare(item: SourceItem): Prepared | { where: string; error: string } {
  if ('error' in item) return item;
  try {
    return baselineRecord(readBackfillInput(item.value));
  } catch (err) {
    return { where: item.where, error: (err as Error).message };
  }
}

/** pg_try_advisory_lock on a dedicated connection (never a pooled one: it would leak the lock). */
async function takeLock(connectionString: string, lockId: number) {
  const client = await connectDedicated(connectionString, 'costsim-guard:backfill');
  let lost = false;
  client.on('error', () => (lost = true));
  client.on('end', () => (lost = true));
  try {
    const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [lockId]);
    if (!rows[0]?.ok) throw new BackfillLockedError(lockId);
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return {
    /** Stops the work the moment the lock's connection is gone (another backfill may have it by now). */
    assertHeld() {
      if (lost) throw new Error(`lost the backfill lock (advisory lock ${lockId}): its connection dropped`);
    },
    async release() {
      await client.query('select pg_advisory_unlock($1)', [lockId]).catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
