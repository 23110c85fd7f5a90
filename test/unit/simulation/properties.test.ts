import fc from 'fast-check';
import {
  type ComparedV2,
  compareResults,
  verdictOf,
  VERDICTS,
} from '../../../src/domain/simulation/comparison';
import { inputHash, outputHash } from '../../../src/domain/simulation/simulationHashes';
import {
  KNOWN_SKILLS,
  type RawPlanStep,
  normalizeInput,
} from '../../../src/domain/simulation/simulationInput';
import { simulateV1 } from '../../../src/domain/simulation/v1Simulator';
import { simulateV2 } from '../../../src/domain/simulation/v2Simulator';

/** Property tests (fast-check) of docs/domain.md §2.3 over generated plans and answers. */
const bounds = fc
  .tuple(fc.double({ min: 0.05, max: 1, noNaN: true }), fc.double({ min: 0.05, max: 1, noNaN: true }))
  .map(([a, b]) => ({ warning: Math.min(a, b), drift: Math.max(a, b) }));

const answer = fc.record({
  feasible: fc.boolean(),
  estimated_cost_cents: fc.integer({ min: 0, max: 1_000_000 }),
  estimated_duration_ms: fc.integer({ min: 0, max: 1_000_000 }),
});
const asCompared = (a: {
  feasible: boolean;
  estimated_cost_cents: number;
  estimated_duration_ms: number;
}): ComparedV2 => ({
  ...a,
  status: a.feasible ? 'success' : 'error',
  risks: [],
  confidence_score: 0.9,
});

const step: fc.Arbitrary<RawPlanStep> = fc.record(
  {
    skill: fc.oneof(fc.constantFrom(...KNOWN_SKILLS), fc.string({ maxLength: 8 })),
    params: fc.record(
      {
        prompt: fc.oneof(
          fc.string({ maxLength: 3000, unit: 'binary' }),
          fc.integer(),
          fc.array(fc.integer(), { maxLength: 5 }),
        ),
        timeout: fc.oneof(fc.double({ min: -10, max: 100, noNaN: true }), fc.boolean()),
        url: fc.constantFrom('https://api.example.com', 'http://localhost/x'),
        command: fc.string({ maxLength: 200 }),
      },
      { requiredKeys: [] },
    ),
    iterations: fc.integer({ min: 1, max: 100 }),
  },
  { requiredKeys: [] },
);
const request = fc.record({
  plan: fc.array(step, { maxLength: 8 }),
  budget_cents: fc.integer({ min: 0, max: 5000 }),
  allowed_skills: fc.option(fc.array(fc.constantFrom(...KNOWN_SKILLS), { maxLength: 4 }), { nil: null }),
  risk_threshold: fc.double({ min: 0, max: 1, noNaN: true }),
});
const v2Options = { modelVersion: '2.0.0', adapterVersion: '2.0.0', commitSha: 'p', runtimeMs: 0 };

test('drift is always in [0, 1], and so is its rounded score', () => {
  fc.assert(
    fc.property(answer, answer, bounds, (a, b, bd) => {
      const { drift, comparison } = compareResults(asCompared(a), asCompared(b), bd);
      return drift >= 0 && drift <= 1 && comparison.drift_score >= 0 && comparison.drift_score <= 1;
    }),
  );
});

test('the verdict is monotone in drift', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      bounds,
      (x, y, bd) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        return VERDICTS.indexOf(verdictOf(lo, bd)) <= VERDICTS.indexOf(verdictOf(hi, bd));
      },
    ),
  );
});

test('mismatch ⇔ drift > COSTSIM_DRIFT_THRESHOLD (the drift the breaker is told)', () => {
  fc.assert(
    fc.property(answer, answer, bounds, (a, b, bd) => {
      const { drift, comparison } = compareResults(asCompared(a), asCompared(b), bd);
      return (comparison.verdict === 'mismatch') === drift > bd.drift;
    }),
  );
});

test('the V1 answer does not depend on whether V2 ran', () => {
  fc.assert(
    fc.property(request, (raw) => {
      const alone = JSON.stringify(simulateV1(normalizeInput(raw)));
      const input = normalizeInput(raw);
      simulateV2(input, v2Options); // V2 on the same input object first
      return JSON.stringify(simulateV1(input)) === alone;
    }),
    { numRuns: 200 },
  );
});

test('equal inputs ⇒ equal hashes (however the objects were built: key order, copies)', () => {
  fc.assert(
    fc.property(request, (raw) => {
      const reversed = raw.plan.map((s) => Object.fromEntries(Object.entries(s).reverse()) as RawPlanStep);
      const copy = JSON.parse(JSON.stringify(raw.plan)) as unknown;
      const h = inputHash({ plan: raw.plan, budget_cents: raw.budget_cents });
      const a = simulateV2(normalizeInput(raw), v2Options);
      const b = simulateV2(normalizeInput({ ...raw, plan: reversed }), { ...v2Options, runtimeMs: 9 });
      return (
        h === inputHash({ plan: reversed, budget_cents: raw.budget_cents }) &&
        h === inputHash({ plan: copy, budget_cents: raw.budget_cents }) &&
        outputHash(a) === outputHash(b)
      );
    }),
    { numRuns: 200 },
  );
});
