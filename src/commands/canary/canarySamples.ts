import type pg from 'pg';
import type { CanarySample } from '../../domain/canary/canaryStatistics';
import type { GoldenDataset } from '../../domain/canary/goldenDataset';
import {
  type GoldenOutcome,
  type GoldenValidationResult,
  validateGolden,
} from '../../domain/canary/goldenValidation';
import { type VerdictBounds, compareResults } from '../../domain/simulation/comparison';
import { type SimulationInput, normalizeInput } from '../../domain/simulation/simulationInput';
import type { V2Engine, V2Outcome } from '../../domain/simulation/v2Engine';
import { type V1Result, simulateV1 } from '../../domain/simulation/v1Simulator';
import { parseStoredSimulateBody } from './storedSimulateBody';

/** One input to price with V1 and V2: what was asked, and the plan as written (an external V2 gets it). */
export interface PricedInput {
  readonly input: SimulationInput;
  readonly writtenPlan: unknown;
}

/** Rows read per query: a page is priced while the next one is read. */
const PAGE = 1000;

/**
 * The input as its stored JSON text and the keyset cursor as text: nothing is decoded per row when a page
 * arrives (pg would JSON.parse every jsonb and build a Date for every timestamp); an input is parsed just
 * before it is priced, so its objects die young instead of outliving a page. `to_json` gives the timestamp
 * in ISO 8601 with its microseconds and offset, whatever the session's DateStyle: the cursor is exact
 * (a JavaScript Date keeps milliseconds only, and a cursor cut to the millisecond skipped the rows of the
 * same millisecond behind a page's last row).
 */
const SANDBOX_COLUMNS = `(payload->'input')::text as input, to_json(created_at)#>>'{}' as cursor_at,
    id::text as cursor_id from provenance
  where source = 'sandbox' and verdict is not null and v1_cost is not null and v2_cost is not null`;
// Two statements, so that neither carries an "is the cursor null" branch the planner must keep open; the
// aliases differ from the columns, so the order (and the index on created_at desc, id desc) is the columns'.
const FIRST_PAGE_SQL = `select ${SANDBOX_COLUMNS} order by created_at desc, id desc limit $1`;
const NEXT_PAGE_SQL = `select ${SANDBOX_COLUMNS} and (created_at, id) < ($2::timestamptz, $3::uuid)
  order by created_at desc, id desc limit $1`;

/**
 * A stored sandbox input (its JSON text, as recentSandboxPages reads it) as a simulate request, or null when
 * it no longer parses as one (left out and counted, never guessed at).
 */
export function parseSandboxInput(text: string | null): PricedInput | null {
  if (text === null) return null;
  const body = parseStoredSimulateBody(JSON.parse(text));
  if (!body) return null;
  return {
    input: normalizeInput({
      plan: body.plan,
      budget_cents: body.budget_cents ?? null,
      allowed_skills: body.allowed_skills ?? null,
      risk_threshold: body.risk_threshold ?? null,
    }),
    writtenPlan: body.plan,
  };
}

/**
 * Up to `limit` recent successful sandbox inputs (docs/domain.md §6): provenance of source `sandbox` that V2
 * answered (a verdict was recorded), newest first, in pages of stored JSON texts (parseSandboxInput makes
 * each a request, or null). The first page is asked for at once, before anything is iterated (a run reads it
 * while it records its start), and the next page is already being read while the caller works on the
 * current one.
 */
export function recentSandboxPages(pool: pg.Pool, limit: number): AsyncIterable<readonly (string | null)[]> {
  type Row = { input: string | null; cursor_at: string; cursor_id: string };
  const read = (after: Row | null, n: number): Promise<Row[]> | null => {
    if (n <= 0) return null;
    const rows = pool
      .query<Row>(after ? NEXT_PAGE_SQL : FIRST_PAGE_SQL, after ? [n, after.cursor_at, after.cursor_id] : [n])
      .then((r) => r.rows);
    // a read that is abandoned (the caller stopped, or never started) must not become an unhandled rejection
    rows.catch(() => {});
    return rows;
  };
  const first = read(null, Math.min(PAGE, limit));
  return {
    async *[Symbol.asyncIterator]() {
      let remaining = limit;
      let next = first;
      while (next) {
        const rows: Row[] = await next;
        remaining -= rows.length;
        const last = rows[rows.length - 1];
        next = last ? read(last, Math.min(PAGE, remaining)) : null;
        yield rows.map((r) => r.input);
      }
    },
  };
}

/** Every page of recentSandboxPages at once, parsed (the bench's compute-limit loop reads its inputs so). */
export async function recentSandboxInputs(
  pool: pg.Pool,
  limit: number,
): Promise<{ inputs: PricedInput[]; unreadable: number }> {
  const inputs: PricedInput[] = [];
  let unreadable = 0;
  for await (const page of recentSandboxPages(pool, limit)) {
    for (const text of page) {
      const parsed = parseSandboxInput(text);
      if (parsed) inputs.push(parsed);
      else unreadable++;
    }
  }
  return { inputs, unreadable };
}

/** A golden sample as a simulation input (its own budget; defaults of docs/domain.md §2 otherwise). */
export const goldenInputs = (dataset: GoldenDataset): PricedInput[] =>
  dataset.samples.map((s) => ({
    input: normalizeInput({ plan: s.plan, budget_cents: s.budget_cents ?? null }),
    writtenPlan: s.plan,
  }));

export interface PricedPair {
  readonly outcome: V2Outcome;
  readonly sample: CanarySample | null;
}

/**
 * V1 and V2 on one input, compared (docs/domain.md §2.3); V2's outcome is returned as it came. An in-process
 * V2 answers synchronously (no promise per sample), an external one asynchronously.
 */
export function pricePair(
  priced: PricedInput,
  engine: V2Engine,
  bounds: VerdictBounds,
  runId: string,
): PricedPair | Promise<PricedPair> {
  const v1 = simulateV1(priced.input);
  const request = { input: priced.input, writtenPlan: priced.writtenPlan, runId };
  if (engine.runSync) return paired(v1, engine.runSync(request), bounds);
  return engine.run(request).then((outcome) => paired(v1, outcome, bounds));
}

function paired(v1: V1Result, outcome: V2Outcome, bounds: VerdictBounds): PricedPair {
  if (outcome.kind !== 'answered') return { outcome, sample: null };
  const { comparison, drift } = compareResults(v1, outcome.result, bounds);
  return {
    outcome,
    sample: {
      v1_cost_cents: comparison.v1_cost_cents,
      v2_cost_cents: comparison.v2_cost_cents,
      // unrounded: the same judgement as the verdict (an outlier is drift > 0.5)
      drift_score: drift,
      verdict: comparison.verdict,
    },
  };
}

export const goldenOutcome = (outcome: V2Outcome): GoldenOutcome =>
  outcome.kind === 'answered'
    ? {
        kind: 'answered',
        estimated_cost_cents: outcome.result.estimated_cost_cents,
        feasible: outcome.result.feasible,
        confidence_score: outcome.result.confidence_score,
      }
    : { kind: 'threw' };

/** docs/domain.md §6 golden validation of one dataset: V2 per sample, with the sample's budget. */
export async function validateDataset(
  dataset: GoldenDataset,
  engine: V2Engine,
  runId = `golden-${dataset.id}`,
): Promise<GoldenValidationResult> {
  const outcomes: GoldenOutcome[] = [];
  for (const priced of goldenInputs(dataset)) {
    outcomes.push(
      goldenOutcome(await engine.run({ input: priced.input, writtenPlan: priced.writtenPlan, runId })),
    );
  }
  return validateGolden(dataset, outcomes);
}
