import fc from 'fast-check';
import { parseSimulateBody } from '../../../src/commands/simulation/simulateBodyByHand';
import { simulateBody } from '../../../src/commands/simulation/simulateSchemas';
import { HttpProblem } from '../../../src/infra/http/problem';
import { parseOrThrow } from '../../../src/infra/http/validation';

/**
 * The simulate route's body check (hand check first, parseOrThrow for the rest) answers every JSON body as
 * parseOrThrow alone did: the same body (as JSON text, so key order counts) or the same 400 with the
 * same field errors. Bodies mix valid and invalid fields, and text PostgreSQL cannot store (U+0000, a lone
 * surrogate) anywhere, which the hand check must leave to the storable walk.
 */
const answer = (parse: (v: unknown) => unknown, v: unknown): string => {
  try {
    return `ok ${JSON.stringify(parse(v))}`;
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err;
    return `problem ${err.status} ${JSON.stringify(err.toBody('/costsim/v2/simulate'))}`;
  }
};
const before = (v: unknown) => parseOrThrow(simulateBody, v, 'body');

const text = fc.oneof(
  { arbitrary: fc.string({ maxLength: 8 }), weight: 40 },
  { arbitrary: fc.constantFrom('a\u0000b', '\ud800', 'ok\udfffx'), weight: 1 },
  { arbitrary: fc.string({ minLength: 199, maxLength: 201 }), weight: 1 },
);
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const maybe = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof(
    { arbitrary: a, weight: 30 },
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: json, weight: 1 },
  );
const rarely = fc.oneof({ arbitrary: fc.constant(undefined), weight: 40 }, { arbitrary: json, weight: 1 });
const int = (min: number, max: number) =>
  fc.oneof(
    { arbitrary: fc.integer({ min, max }), weight: 20 },
    { arbitrary: fc.constantFrom(min - 1, max + 1, 0.5, 2 ** 53, -0), weight: 1 },
  );
const shuffled = (r: Record<string, unknown>) =>
  fc
    .shuffledSubarray(
      Object.entries(r).filter(([, v]) => v !== undefined),
      { minLength: Object.values(r).filter((v) => v !== undefined).length },
    )
    .map((e) => Object.fromEntries(e) as unknown);

const step = fc
  .record(
    {
      skill: maybe(text),
      params: maybe(fc.dictionary(text, fc.oneof(json, text), { maxKeys: 3 })),
      iterations: maybe(int(1, 100)),
      extra: rarely,
    },
    { requiredKeys: ['extra'] },
  )
  .chain(shuffled);

const body = fc
  .record(
    {
      plan: fc.oneof(
        { arbitrary: fc.array(step, { maxLength: 4 }), weight: 12 },
        { arbitrary: json, weight: 1 },
      ),
      budget_cents: maybe(int(0, 5000)),
      allowed_skills: maybe(fc.array(text, { maxLength: 3 })),
      risk_threshold: maybe(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(-0.1, 1.5))),
      run_id: maybe(text),
      tenant_id: maybe(fc.oneof(fc.constantFrom('acme', 'T1', '-x', ''), text)),
      unknown_field: rarely,
    },
    { requiredKeys: ['plan', 'unknown_field'] },
  )
  .chain(shuffled)
  .map((b) => JSON.parse(JSON.stringify(b)) as unknown);

test('the route answers every body as parseOrThrow does: the same body, or the same 400', () => {
  let valid = 0;
  let runs = 0;
  fc.assert(
    fc.property(body, (b) => {
      runs++;
      const expected = answer(before, b);
      if (expected.startsWith('ok')) valid++;
      expect(answer(parseSimulateBody, b)).toBe(expected);
    }),
    { numRuns: 5000 },
  );
  // not vacuous: both sides were exercised
  expect(valid / runs).toBeGreaterThan(0.1);
  expect(valid / runs).toBeLessThan(0.9);
});

test('unstorable text the hand check would pass is refused with its field named', () => {
  for (const b of [
    { plan: [{ skill: 'a\u0000b' }] },
    { plan: [], run_id: '\ud800' },
    { plan: [], allowed_skills: ['x\u0000'] },
  ]) {
    const got = answer(parseSimulateBody, b);
    expect(got).toMatch(/^problem 400 /);
    expect(got).toBe(answer(before, b));
  }
});
